// The fixture spec's package as a TypeScript user types against it:
// tests/test_every_shape_typescript.py compiles this file with `tsc --strict --noEmit`
// against the built declarations. It is never run. Each `@ts-expect-error` is a
// mistake the types must catch.

import {
  ApiClient,
  type ApiCallResponse,
  type ListWidgetsCall,
  type ListWidgetsOptions,
  type ListWidgetsRequest,
  type PaginatedApiCallResponse,
  type Widget,
  type WidgetList,
  type WidgetSize,
  type WidgetStatus,
} from "northflank-build";

const client = new ApiClient({ token: "token", strictResponseValidation: false });

export async function everyShape(teamId: string, widgetId: string): Promise<string> {
  const options: ListWidgetsOptions = { per_page: 50, size: 5, cursor: "c", "X-Trace-Id": "0a1b2c3d" };
  const request: ListWidgetsRequest = { parameters: { teamId }, options };
  const page: PaginatedApiCallResponse<WidgetList> = await client.list.widgets(request, { timeout: 5_000 });
  const next: PaginatedApiCallResponse<WidgetList> = await page.pagination.getNextPage();
  const hasNext: boolean = next.pagination.hasNextPage;
  const cursor: string | undefined = next.pagination.cursor;
  const every: ApiCallResponse<WidgetList> = await client.list.widgets.all({ parameters: { teamId } });
  const call: ListWidgetsCall = client.list.widgets;
  void call;
  const created: Widget = (await client.create.widget({ parameters: { teamId }, data: { name: "a-b", size: 2 } })).data;
  const patched = await client.patch.widget({ parameters: { teamId, widgetId } }); // the body is optional
  const status: WidgetStatus = (await client.get.widgetStatus({ parameters: { teamId, widgetId } })).data;
  const rebuilt = await client.rebuild.widget({ parameters: { teamId, widgetId }, options: { priority: 1 } });
  const deleted: ApiCallResponse<undefined> = await client.delete.widget({ parameters: { teamId, widgetId }, options: { delete_child_objects: true } });
  const nothing: undefined = deleted.data;
  const size: WidgetSize = 5;
  return `${every.data.widgets.length} ${hasNext} ${cursor} ${created.id} ${patched.data.size} ${status.state} ${rebuilt.data.state} ${nothing} ${size}`;
}

export async function mistakes(teamId: string, widgetId: string): Promise<void> {
  // @ts-expect-error: 8 is in the enum but over its maximum
  const size: WidgetSize = 8;
  void size;
  // @ts-expect-error: per_page is a number
  await client.list.widgets({ parameters: { teamId }, options: { per_page: "50" } });
  // @ts-expect-error: a GET takes no body
  await client.get.widget({ parameters: { teamId, widgetId }, data: {} });
  // @ts-expect-error: the priority is required
  await client.rebuild.widget({ parameters: { teamId, widgetId } });
  // @ts-expect-error: the priority's enum is narrowed by its maximum
  await client.rebuild.widget({ parameters: { teamId, widgetId }, options: { priority: 8 } });
  // @ts-expect-error: the body is required
  await client.put.widget({ parameters: { teamId, widgetId } });
  // @ts-expect-error: per-call settings are the second argument, not options
  await client.list.widgets({ parameters: { teamId }, options: { timeout: 5 } });
  // @ts-expect-error: only a list has .all
  void client.get.widget.all;
  const deleted = await client.delete.widget({ parameters: { teamId, widgetId } });
  // @ts-expect-error: a 204 has no data
  deleted.data.id;
}
