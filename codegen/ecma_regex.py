"""Translate ECMA-262 regular expressions into Rust ``regex``-crate and Python ``re`` syntax.

JSON Schema ``pattern`` values are ECMA-262 regular expressions.  We read them with
Unicode (``u`` flag) semantics, as the JSON-Schema-Test-Suite does; the generated
pydantic models enforce them with pydantic-core's default engine, the Rust ``regex``
crate, whose syntax and semantics differ in many small ways.  ``to_rust_regex``
parses an ECMA pattern into a small syntax tree and prints an equivalent Rust
pattern:

* ``\\d`` ``\\w`` ``\\s`` (and their negations) become explicit ECMA sets; in Rust
  they are Unicode-aware and ``\\s`` is a different set even in ASCII.
* ``.`` excludes the four ECMA line terminators, not just ``\\n``.
* ``^`` and ``$`` become ``\\A`` and ``\\z``.
* ``\\b`` and ``\\B`` become ``(?-u:\\b)`` and ``(?-u:\\B)``.  ECMA's word characters
  are ASCII-only.  Rust's ASCII word boundary looks at UTF-8 bytes, and every byte
  of a non-ASCII character is a non-word byte, so at character boundaries the two
  definitions agree.  Rust never reports an empty match inside a character in a
  ``str`` regex.
* Literals are escaped if Rust treats them as special, inside classes too (``[``
  opens a nested class there; ``&&``, ``--`` and ``~~`` are set operators).  Do not
  escape ``<`` or ``>``: in Rust ``\\<`` and ``\\>`` are word-boundary assertions.
* Surrogate code points cannot occur in a Rust ``str``; they are dropped from
  classes, and a lone surrogate literal becomes a class that matches nothing.

``to_python_regex`` prints the same tree for Python's ``re`` (the generated fast
checks): ``\\A`` and ``\\Z``, the same explicit sets, classes as explicit code point
ranges (complements computed here), ``\\b``/``\\B`` as lookarounds over ASCII word
characters (so ``\\B`` matches the empty string, as in ECMA), and every literal other
than an ASCII letter or digit escaped.  Python strings may hold lone surrogates, and
so may ECMA strings: they stay.  ``re`` has no Unicode properties, so a pattern with
one is `UnsupportedPattern` there.

Capturing groups become non-capturing.  Lookaround, backreferences, ES2025 pattern
modifiers, a few Unicode properties missing from Rust's tables, repetition counts
above 2**32-1 and nesting deeper than Rust's parser allows raise `UnsupportedPattern`.
Invalid ECMA syntax raises its subclass `InvalidPattern`.  Any valid pattern that
does neither is translated to an equivalent Rust pattern.  Two patterns are
equivalent here when they match the same strings; match positions and captures are
not compared.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final, TypeAlias

__all__ = [
    "Alternative",
    "AnyChar",
    "Assertion",
    "CharClass",
    "CharRange",
    "ClassEscape",
    "Disjunction",
    "Group",
    "InvalidPattern",
    "Literal",
    "Node",
    "Property",
    "Repeat",
    "UnsupportedPattern",
    "parse",
    "to_python_regex",
    "to_rust_regex",
]


class UnsupportedPattern(ValueError):  # noqa: N818 - the name is the public API
    """The pattern cannot be translated: Rust ``regex`` cannot express it, or it is invalid."""

    def __init__(self, pattern: str, offset: int, construct: str, reason: str) -> None:
        self.pattern = pattern
        self.offset = offset
        self.construct = construct
        self.reason = reason
        super().__init__(
            f"{reason}: {construct!r} at offset {offset} in ECMA-262 pattern {pattern!r}"
        )


class InvalidPattern(UnsupportedPattern):
    """The pattern is not valid ECMA-262 syntax in Unicode (``u`` flag) mode."""


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True, slots=True)
class Literal:
    """One code point, matched literally."""

    code_point: int


@dataclass(frozen=True, slots=True)
class AnyChar:
    """``.``: any code point except a line terminator."""


@dataclass(frozen=True, slots=True)
class ClassEscape:
    """``\\d``, ``\\D``, ``\\w``, ``\\W``, ``\\s`` or ``\\S`` (the letter is in ``kind``)."""

    kind: str


@dataclass(frozen=True, slots=True)
class Property:
    """``\\p{...}`` or ``\\P{...}``.

    ``rust`` is the Rust spelling of the property (inside ``\\p{}``).  ``None`` means the
    empty set of Unicode scalar values, which is what ``General_Category=Surrogate``
    is for a Rust ``str``.
    """

    negated: bool
    rust: str | None


@dataclass(frozen=True, slots=True)
class CharRange:
    """An inclusive range of code points inside a character class."""

    low: int
    high: int


ClassItem: TypeAlias = CharRange | ClassEscape | Property


@dataclass(frozen=True, slots=True)
class CharClass:
    """``[...]`` or ``[^...]``."""

    negated: bool
    items: tuple[ClassItem, ...]


@dataclass(frozen=True, slots=True)
class Assertion:
    """``^``, ``$``, ``\\b`` (kind ``b``) or ``\\B`` (kind ``B``)."""

    kind: str


@dataclass(frozen=True, slots=True)
class Group:
    """A parenthesised group; whether it captures makes no difference to matching."""

    body: Disjunction


@dataclass(frozen=True, slots=True)
class Repeat:
    """A quantified atom; ``maximum`` is ``None`` when unbounded."""

    atom: Node
    minimum: int
    maximum: int | None
    lazy: bool


@dataclass(frozen=True, slots=True)
class Alternative:
    """A sequence of terms."""

    terms: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Disjunction:
    """Alternatives separated by ``|``."""

    alternatives: tuple[Alternative, ...]


Node: TypeAlias = (
    Literal | AnyChar | ClassEscape | Property | CharClass | Assertion | Group | Repeat
)

# --------------------------------------------------------------------------- tables

_SYNTAX_CHARACTERS: Final = frozenset("^$\\.*+?()[]{}|")
_DECIMAL_DIGITS: Final = frozenset("0123456789")
_HEX_DIGITS: Final = frozenset("0123456789abcdefABCDEF")
_ASCII_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CONTROL_ESCAPES: Final = {"f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}
_U32_MAX: Final = 2**32 - 1
_MAX_CODE_POINT: Final = 0x10FFFF
_SURROGATES: Final = range(0xD800, 0xE000)
# Deeper ECMA group nesting is refused outright (it also bounds our recursion).
_MAX_GROUP_DEPTH: Final = 100
# Rust regex's parser refuses syntax nested deeper than this (its default nest_limit).
_RUST_NEST_LIMIT: Final = 250


def _aliases(table: str) -> dict[str, str]:
    """Map every name in ``table`` (one property per line, long name first) to its long name."""
    result: dict[str, str] = {}
    for line in table.strip().splitlines():
        names = line.split()
        for name in names:
            result[name] = names[0]
    return result


# ECMA-262 table-unicode-general-category-values.
_GENERAL_CATEGORIES: Final = _aliases(
    """
    Cased_Letter LC
    Close_Punctuation Pe
    Connector_Punctuation Pc
    Control Cc cntrl
    Currency_Symbol Sc
    Dash_Punctuation Pd
    Decimal_Number Nd digit
    Enclosing_Mark Me
    Final_Punctuation Pf
    Format Cf
    Initial_Punctuation Pi
    Letter L
    Letter_Number Nl
    Line_Separator Zl
    Lowercase_Letter Ll
    Mark M Combining_Mark
    Math_Symbol Sm
    Modifier_Letter Lm
    Modifier_Symbol Sk
    Nonspacing_Mark Mn
    Number N
    Open_Punctuation Ps
    Other C
    Other_Letter Lo
    Other_Number No
    Other_Punctuation Po
    Other_Symbol So
    Paragraph_Separator Zp
    Private_Use Co
    Punctuation P punct
    Separator Z
    Space_Separator Zs
    Spacing_Mark Mc
    Surrogate Cs
    Symbol S
    Titlecase_Letter Lt
    Unassigned Cn
    Uppercase_Letter Lu
    """
)

# ECMA-262 table-binary-unicode-properties.
_BINARY_PROPERTIES: Final = _aliases(
    """
    ASCII
    ASCII_Hex_Digit AHex
    Alphabetic Alpha
    Any
    Assigned
    Bidi_Control Bidi_C
    Bidi_Mirrored Bidi_M
    Case_Ignorable CI
    Cased
    Changes_When_Casefolded CWCF
    Changes_When_Casemapped CWCM
    Changes_When_Lowercased CWL
    Changes_When_NFKC_Casefolded CWKCF
    Changes_When_Titlecased CWT
    Changes_When_Uppercased CWU
    Dash
    Default_Ignorable_Code_Point DI
    Deprecated Dep
    Diacritic Dia
    Emoji
    Emoji_Component EComp
    Emoji_Modifier EMod
    Emoji_Modifier_Base EBase
    Emoji_Presentation EPres
    Extended_Pictographic ExtPict
    Extender Ext
    Grapheme_Base Gr_Base
    Grapheme_Extend Gr_Ext
    Hex_Digit Hex
    IDS_Binary_Operator IDSB
    IDS_Trinary_Operator IDST
    ID_Continue IDC
    ID_Start IDS
    Ideographic Ideo
    Join_Control Join_C
    Logical_Order_Exception LOE
    Lowercase Lower
    Math
    Noncharacter_Code_Point NChar
    Pattern_Syntax Pat_Syn
    Pattern_White_Space Pat_WS
    Quotation_Mark QMark
    Radical
    Regional_Indicator RI
    Sentence_Terminal STerm
    Soft_Dotted SD
    Terminal_Punctuation Term
    Unified_Ideograph UIdeo
    Uppercase Upper
    Variation_Selector VS
    White_Space space
    XID_Continue XIDC
    XID_Start XIDS
    """
)

# Script values (Unicode 17 PropertyValueAliases.txt, as ECMA-262 admits them).
_SCRIPTS: Final = _aliases(
    """
    Adlam Adlm
    Ahom
    Anatolian_Hieroglyphs Hluw
    Arabic Arab
    Armenian Armn
    Avestan Avst
    Balinese Bali
    Bamum Bamu
    Bassa_Vah Bass
    Batak Batk
    Bengali Beng
    Beria_Erfe Berf
    Bhaiksuki Bhks
    Bopomofo Bopo
    Brahmi Brah
    Braille Brai
    Buginese Bugi
    Buhid Buhd
    Canadian_Aboriginal Cans
    Carian Cari
    Caucasian_Albanian Aghb
    Chakma Cakm
    Cham
    Cherokee Cher
    Chorasmian Chrs
    Common Zyyy
    Coptic Copt Qaac
    Cuneiform Xsux
    Cypriot Cprt
    Cypro_Minoan Cpmn
    Cyrillic Cyrl
    Deseret Dsrt
    Devanagari Deva
    Dives_Akuru Diak
    Dogra Dogr
    Duployan Dupl
    Egyptian_Hieroglyphs Egyp
    Elbasan Elba
    Elymaic Elym
    Ethiopic Ethi
    Garay Gara
    Georgian Geor
    Glagolitic Glag
    Gothic Goth
    Grantha Gran
    Greek Grek
    Gujarati Gujr
    Gunjala_Gondi Gong
    Gurmukhi Guru
    Gurung_Khema Gukh
    Han Hani
    Hangul Hang
    Hanifi_Rohingya Rohg
    Hanunoo Hano
    Hatran Hatr
    Hebrew Hebr
    Hiragana Hira
    Imperial_Aramaic Armi
    Inherited Zinh Qaai
    Inscriptional_Pahlavi Phli
    Inscriptional_Parthian Prti
    Javanese Java
    Kaithi Kthi
    Kannada Knda
    Katakana Kana
    Kawi
    Kayah_Li Kali
    Kharoshthi Khar
    Khitan_Small_Script Kits
    Khmer Khmr
    Khojki Khoj
    Khudawadi Sind
    Kirat_Rai Krai
    Lao Laoo
    Latin Latn
    Lepcha Lepc
    Limbu Limb
    Linear_A Lina
    Linear_B Linb
    Lisu
    Lycian Lyci
    Lydian Lydi
    Mahajani Mahj
    Makasar Maka
    Malayalam Mlym
    Mandaic Mand
    Manichaean Mani
    Marchen Marc
    Masaram_Gondi Gonm
    Medefaidrin Medf
    Meetei_Mayek Mtei
    Mende_Kikakui Mend
    Meroitic_Cursive Merc
    Meroitic_Hieroglyphs Mero
    Miao Plrd
    Modi
    Mongolian Mong
    Mro Mroo
    Multani Mult
    Myanmar Mymr
    Nabataean Nbat
    Nag_Mundari Nagm
    Nandinagari Nand
    New_Tai_Lue Talu
    Newa
    Nko Nkoo
    Nushu Nshu
    Nyiakeng_Puachue_Hmong Hmnp
    Ogham Ogam
    Ol_Chiki Olck
    Ol_Onal Onao
    Old_Hungarian Hung
    Old_Italic Ital
    Old_North_Arabian Narb
    Old_Permic Perm
    Old_Persian Xpeo
    Old_Sogdian Sogo
    Old_South_Arabian Sarb
    Old_Turkic Orkh
    Old_Uyghur Ougr
    Oriya Orya
    Osage Osge
    Osmanya Osma
    Pahawh_Hmong Hmng
    Palmyrene Palm
    Pau_Cin_Hau Pauc
    Phags_Pa Phag
    Phoenician Phnx
    Psalter_Pahlavi Phlp
    Rejang Rjng
    Runic Runr
    Samaritan Samr
    Saurashtra Saur
    Sharada Shrd
    Shavian Shaw
    Siddham Sidd
    Sidetic Sidt
    SignWriting Sgnw
    Sinhala Sinh
    Sogdian Sogd
    Sora_Sompeng Sora
    Soyombo Soyo
    Sundanese Sund
    Sunuwar Sunu
    Syloti_Nagri Sylo
    Syriac Syrc
    Tagalog Tglg
    Tagbanwa Tagb
    Tai_Le Tale
    Tai_Tham Lana
    Tai_Viet Tavt
    Tai_Yo Tayo
    Takri Takr
    Tamil Taml
    Tangsa Tnsa
    Tangut Tang
    Telugu Telu
    Thaana Thaa
    Thai
    Tibetan Tibt
    Tifinagh Tfng
    Tirhuta Tirh
    Todhri Todr
    Tolong_Siki Tols
    Toto
    Tulu_Tigalari Tutg
    Ugaritic Ugar
    Unknown Zzzz
    Vai Vaii
    Vithkuqi Vith
    Wancho Wcho
    Warang_Citi Wara
    Yezidi Yezi
    Yi Yiii
    Zanabazar_Square Zanb
    """
)

# Valid in ECMA-262 but absent from the Unicode tables of the Rust regex crate that
# pydantic-core ships (Unicode 16): Rust rejects them, so we cannot translate them.
_RUST_MISSING_BINARY: Final = frozenset({"Changes_When_NFKC_Casefolded"})
_RUST_MISSING_SCRIPTS: Final = frozenset(
    {"Unknown", "Beria_Erfe", "Sidetic", "Tai_Yo", "Tolong_Siki"}
)

# Code points added to ID_Start / ID_Continue by Other_ID_Start / Other_ID_Continue.
_OTHER_ID_START: Final = frozenset({0x1885, 0x1886, 0x2118, 0x212E, 0x309B, 0x309C})
_OTHER_ID_CONTINUE: Final = frozenset(
    {0x00B7, 0x0387, *range(0x1369, 0x1372), 0x19DA, 0x200C, 0x200D, 0x30FB, 0xFF65}
)


def _is_identifier_start(code_point: int) -> bool:
    """RegExpIdentifierStart: ID_Start, ``$`` or ``_`` (Python's Unicode database)."""
    if code_point in (0x24, 0x5F) or code_point in _OTHER_ID_START:
        return True
    category = unicodedata.category(chr(code_point))
    return category in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nl")


def _is_identifier_part(code_point: int) -> bool:
    """RegExpIdentifierPart: ID_Continue, ``$``, ZWNJ or ZWJ."""
    if _is_identifier_start(code_point) or code_point in _OTHER_ID_CONTINUE:
        return True
    return unicodedata.category(chr(code_point)) in ("Mn", "Mc", "Nd", "Pc")


# --------------------------------------------------------------------------- parser

_EMPTY_GROUP: Final = Group(Disjunction((Alternative(()),)))

# A named group's position: (disjunction id, alternative index) from the root down.
_Path: TypeAlias = tuple[tuple[int, int], ...]


class _Parser:
    """Recursive-descent parser for ECMA-262 ``Pattern[+UnicodeMode, +NamedCaptureGroups]``."""

    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.pos = 0
        self.capture_count = 0
        self.group_names: dict[str, list[_Path]] = {}
        self.path: list[tuple[int, int]] = []
        self.disjunction_count = 0
        self.backreferences: list[tuple[int, int | str]] = []
        self.unsupported: UnsupportedPattern | None = None
        self.depth = 0

    # ---- helpers

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.src[index] if index < len(self.src) else ""

    def invalid(self, offset: int, reason: str, end: int | None = None) -> InvalidPattern:
        construct = self.src[offset : max(end if end is not None else self.pos, offset + 1)]
        return InvalidPattern(self.src, offset, construct, reason)

    def unsupported_here(self, offset: int, reason: str) -> None:
        """Remember the first construct Rust cannot express; raised after a full parse."""
        if self.unsupported is None:
            construct = self.src[offset : max(self.pos, offset + 1)]
            self.unsupported = UnsupportedPattern(self.src, offset, construct, reason)

    # ---- grammar

    def parse(self) -> Disjunction:
        tree = self.disjunction()
        if self.pos < len(self.src):
            # disjunction() stops only at the end or at a ')' without its '('.
            raise self.invalid(self.pos, "unmatched ')'")
        for offset, reference in self.backreferences:
            if isinstance(reference, int):
                if reference > self.capture_count:
                    raise InvalidPattern(
                        self.src,
                        offset,
                        f"\\{reference}",
                        f"invalid escape: there are only {self.capture_count} capturing groups",
                    )
            elif reference not in self.group_names:
                raise InvalidPattern(
                    self.src,
                    offset,
                    f"\\k<{reference}>",
                    "backreference to an undefined group name",
                )
        if self.backreferences:
            offset, reference = self.backreferences[0]
            backreference = UnsupportedPattern(
                self.src,
                offset,
                f"\\{reference}" if isinstance(reference, int) else f"\\k<{reference}>",
                "backreferences are not supported by Rust regex",
            )
            if self.unsupported is None or offset < self.unsupported.offset:
                self.unsupported = backreference
        if self.unsupported is not None:
            raise self.unsupported
        return tree

    def disjunction(self) -> Disjunction:
        identity = self.disjunction_count
        self.disjunction_count += 1
        alternatives: list[Alternative] = []
        while True:
            self.path.append((identity, len(alternatives)))
            alternatives.append(self.alternative())
            self.path.pop()
            if self.peek() != "|":
                return Disjunction(tuple(alternatives))
            self.pos += 1

    def alternative(self) -> Alternative:
        terms: list[Node] = []
        while self.pos < len(self.src) and self.src[self.pos] not in "|)":
            terms.append(self.term())
        return Alternative(tuple(terms))

    def term(self) -> Node:
        start = self.pos
        char = self.src[start]
        if char in "^$":
            self.pos += 1
            self.forbid_quantifier()
            return Assertion(char)
        if char == "\\" and self.peek(1) in ("b", "B"):
            self.pos += 2
            self.forbid_quantifier()
            return Assertion(self.src[start + 1])
        if char == "(":
            return self.group()
        return self.quantified(self.atom())

    def forbid_quantifier(self) -> None:
        if self.peek() in ("*", "+", "?", "{"):
            raise self.invalid(self.pos, "nothing to repeat (an assertion cannot be quantified)")

    def group(self) -> Node:
        start = self.pos
        src = self.src
        self.depth += 1
        if self.depth > _MAX_GROUP_DEPTH:
            raise UnsupportedPattern(
                src, start, "(", f"groups nested more than {_MAX_GROUP_DEPTH} deep"
            )
        try:
            return self.group_body(start)
        finally:
            self.depth -= 1

    def group_body(self, start: int) -> Node:
        src = self.src
        if src.startswith(("(?=", "(?!", "(?<=", "(?<!"), start):
            behind = src.startswith("(?<", start)
            self.pos += 4 if behind else 3
            self.disjunction()
            self.expect_close(start)
            kind = "lookbehind" if behind else "lookahead"
            self.unsupported_here(start, f"{kind} assertions are not supported by Rust regex")
            self.forbid_quantifier()
            return _EMPTY_GROUP
        if src.startswith("(?<", start):
            self.pos += 3
            self.define_group_name(self.group_name(start), start)
            self.capture_count += 1
        elif src.startswith("(?:", start):
            self.pos += 3
        elif src.startswith("(?", start):
            self.pos += 2
            self.modifiers(start)
        else:
            self.pos += 1
            self.capture_count += 1
        body = self.disjunction()
        self.expect_close(start)
        return self.quantified(Group(body))

    def expect_close(self, start: int) -> None:
        if self.peek() != ")":
            raise self.invalid(start, "unterminated group", start + 1)
        self.pos += 1

    def modifiers(self, start: int) -> None:
        """``(?ims-ims:`` (ES2025 pattern modifiers): checked, then reported unsupported."""
        added = self.flag_letters()
        removed = ""
        if self.peek() == "-":
            self.pos += 1
            removed = self.flag_letters()
            if not added and not removed:
                raise self.invalid(start, "invalid group: '(?-:' has no modifier flags")
        if self.peek() != ":":
            raise self.invalid(start, "invalid group", self.pos + 1)
        self.pos += 1
        letters = added + removed
        if len(set(letters)) != len(letters):
            raise self.invalid(start, "repeated flag in pattern modifiers")
        self.unsupported_here(start, "pattern modifiers '(?flags:...)' are not supported")

    def flag_letters(self) -> str:
        begin = self.pos
        while self.peek() in ("i", "m", "s"):
            self.pos += 1
        return self.src[begin : self.pos]

    def group_name(self, start: int) -> str:
        """Parse ``RegExpIdentifierName >`` (the ``(?<`` or ``\\k<`` has been consumed)."""
        chars: list[str] = []
        while True:
            char = self.peek()
            if char == "":
                raise self.invalid(start, "unterminated group name")
            if char == ">":
                self.pos += 1
                break
            at = self.pos
            if char == "\\":
                self.pos += 1
                if self.peek() != "u":
                    raise self.invalid(at, "invalid escape in group name", at + 2)
                code_point = self.unicode_escape(at)
            else:
                code_point = ord(char)
                self.pos += 1
            valid = _is_identifier_part if chars else _is_identifier_start
            if code_point in _SURROGATES or not valid(code_point):
                raise self.invalid(at, "invalid character in group name")
            chars.append(chr(code_point))
        if not chars:
            raise self.invalid(start, "empty group name")
        return "".join(chars)

    def define_group_name(self, name: str, start: int) -> None:
        # ES2025: a name may repeat only in different alternatives of one disjunction.
        path = tuple(self.path)
        for other in self.group_names.get(name, []):
            alternative_of = dict(other)
            if not any(alternative_of.get(identity, index) != index for identity, index in path):
                raise self.invalid(start, f"duplicate capture group name {name!r}")
        self.group_names.setdefault(name, []).append(path)

    def quantified(self, atom: Node) -> Node:
        char = self.peek()
        at = self.pos
        maximum: int | None
        if char == "*":
            minimum, maximum = 0, None
            self.pos += 1
        elif char == "+":
            minimum, maximum = 1, None
            self.pos += 1
        elif char == "?":
            minimum, maximum = 0, 1
            self.pos += 1
        elif char == "{":
            bounds = self.braced_bounds()
            if bounds is None:
                raise self.invalid(at, "incomplete quantifier (a lone '{' is invalid)")
            minimum, maximum = bounds
        else:
            return atom
        lazy = self.peek() == "?"
        if lazy:
            self.pos += 1
        if maximum is not None and minimum > maximum:
            raise self.invalid(at, "numbers out of order in {} quantifier")
        if max(minimum, maximum or 0) > _U32_MAX:
            self.unsupported_here(at, "repetition count exceeds Rust regex's 32-bit limit")
        return Repeat(atom, minimum, maximum, lazy)

    def braced_bounds(self) -> tuple[int, int | None] | None:
        """Parse ``{n}``, ``{n,}`` or ``{n,m}``; leave ``pos`` alone and return None if absent."""
        begin = self.pos
        self.pos += 1
        minimum = self.decimal()
        maximum: int | None = minimum
        if minimum is not None and self.peek() == ",":
            self.pos += 1
            maximum = self.decimal()
        if minimum is None or self.peek() != "}":
            self.pos = begin
            return None
        self.pos += 1
        return minimum, maximum

    def decimal(self) -> int | None:
        begin = self.pos
        while self.peek() in _DECIMAL_DIGITS:
            self.pos += 1
        return int(self.src[begin : self.pos]) if self.pos > begin else None

    def atom(self) -> Node:
        start = self.pos
        char = self.src[start]
        if char == ".":
            self.pos += 1
            return AnyChar()
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.atom_escape()
        if char in "*+?":
            raise self.invalid(start, "nothing to repeat")
        if char == "{":
            if self.braced_bounds() is not None:
                raise self.invalid(start, "nothing to repeat", self.pos)
            raise self.invalid(start, "lone '{' (escape it as '\\{')")
        if char in "}]":
            raise self.invalid(start, f"lone {char!r} (escape it as '\\{char}')")
        self.pos += 1
        return Literal(ord(char))

    def atom_escape(self) -> Node:
        start = self.pos
        self.pos += 1
        char = self.peek()
        if char == "":
            raise self.invalid(start, "'\\' at end of pattern")
        if char in "123456789":
            value = self.decimal()
            assert value is not None
            self.backreferences.append((start, value))
            return _EMPTY_GROUP
        if char == "k":
            self.pos += 1
            if self.peek() != "<":
                raise self.invalid(start, "'\\k' must be followed by '<name>'")
            self.pos += 1
            self.backreferences.append((start, self.group_name(start)))
            return _EMPTY_GROUP
        if char in "dDsSwW":
            self.pos += 1
            return ClassEscape(char)
        if char in "pP":
            return self.property(start)
        return Literal(self.character_escape(start, in_class=False))

    def character_escape(self, start: int, *, in_class: bool) -> int:
        """Parse a CharacterEscape; ``pos`` is just after the backslash at ``start``."""
        char = self.peek()
        if char in _CONTROL_ESCAPES:
            self.pos += 1
            return _CONTROL_ESCAPES[char]
        if char == "c":
            letter = self.peek(1)
            if letter not in _ASCII_LETTERS:
                raise self.invalid(start, "invalid control escape ('\\c' needs an ASCII letter)")
            self.pos += 2
            return ord(letter) % 32
        if char == "0":
            if self.peek(1) in _DECIMAL_DIGITS:
                raise self.invalid(start, "octal escapes are not allowed in u-mode", start + 3)
            self.pos += 1
            return 0
        if char == "x":
            digits = self.src[self.pos + 1 : self.pos + 3]
            if len(digits) != 2 or not set(digits) <= _HEX_DIGITS:
                raise self.invalid(start, "invalid '\\x' escape (needs two hex digits)")
            self.pos += 3
            return int(digits, 16)
        if char == "u":
            return self.unicode_escape(start)
        if char in _SYNTAX_CHARACTERS or char == "/" or (in_class and char == "-"):
            self.pos += 1
            return ord(char)
        raise self.invalid(start, "invalid escape in u-mode", start + 2)

    def unicode_escape(self, start: int) -> int:
        """Parse ``u{X...}``, ``uXXXX`` or a ``uXXXX\\uXXXX`` surrogate pair at ``pos``."""
        src = self.src
        if src.startswith("u{", self.pos):
            end = src.find("}", self.pos + 2)
            digits = src[self.pos + 2 : end] if end != -1 else ""
            if not digits or not set(digits) <= _HEX_DIGITS:
                raise self.invalid(start, "invalid Unicode escape '\\u{...}'")
            value = int(digits, 16)
            if value > _MAX_CODE_POINT:
                raise self.invalid(start, "Unicode escape above U+10FFFF", end + 1)
            self.pos = end + 1
            return value
        digits = src[self.pos + 1 : self.pos + 5]
        if len(digits) != 4 or not set(digits) <= _HEX_DIGITS:
            raise self.invalid(start, "invalid Unicode escape (needs '\\uXXXX' or '\\u{X...}')")
        value = int(digits, 16)
        self.pos += 5
        if 0xD800 <= value <= 0xDBFF and src.startswith("\\u", self.pos):
            trail = src[self.pos + 2 : self.pos + 6]
            if len(trail) == 4 and set(trail) <= _HEX_DIGITS:
                low = int(trail, 16)
                if 0xDC00 <= low <= 0xDFFF:
                    self.pos += 6
                    return 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        return value

    def property(self, start: int) -> Property:
        """Parse ``\\p{...}`` / ``\\P{...}``; ``pos`` is at the ``p`` or ``P``."""
        negated = self.src[self.pos] == "P"
        self.pos += 1
        end = self.src.find("}", self.pos)
        if self.peek() != "{" or end == -1:
            raise self.invalid(start, "'\\p' and '\\P' must be followed by '{...}'")
        body = self.src[self.pos + 1 : end]
        self.pos = end + 1
        name, equals, value = body.partition("=")
        rust: str | None
        if equals:
            if name in ("General_Category", "gc"):
                category = _GENERAL_CATEGORIES.get(value)
                kind, long_name = "gc", category
            elif name in ("Script", "sc", "Script_Extensions", "scx"):
                kind = "sc" if name in ("Script", "sc") else "scx"
                long_name = _SCRIPTS.get(value)
            else:
                raise self.invalid(start, f"unknown Unicode property name {name!r}")
            if long_name is None:
                raise self.invalid(start, f"unknown value {value!r} for Unicode property {name}")
        elif body in _GENERAL_CATEGORIES:
            kind, long_name = "gc", _GENERAL_CATEGORIES[body]
        elif body in _BINARY_PROPERTIES:
            kind, long_name = "binary", _BINARY_PROPERTIES[body]
        else:
            raise self.invalid(start, f"unknown Unicode property {body!r}")
        if kind == "binary":
            rust = long_name
            if long_name in _RUST_MISSING_BINARY:
                self.unsupported_here(start, "Unicode property unknown to Rust regex")
        elif kind == "gc":
            # Surrogates cannot occur in a Rust str; Rust has no such category.
            rust = None if long_name == "Surrogate" else f"gc={long_name}"
        else:
            rust = f"{kind}={long_name}"
            if long_name in _RUST_MISSING_SCRIPTS:
                self.unsupported_here(start, "Unicode script unknown to Rust regex")
        return Property(negated, rust)

    def char_class(self) -> CharClass:
        start = self.pos
        self.pos += 1
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        items: list[ClassItem] = []
        while True:
            char = self.peek()
            if char == "":
                raise self.invalid(start, "unterminated character class", start + 1)
            if char == "]":
                self.pos += 1
                return CharClass(negated, tuple(items))
            atom_start = self.pos
            first = self.class_atom()
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                second = self.class_atom()
                if not isinstance(first, int) or not isinstance(second, int):
                    raise self.invalid(atom_start, "a character class escape cannot bound a range")
                if first > second:
                    raise self.invalid(atom_start, "range out of order in character class")
                items.append(CharRange(first, second))
            elif isinstance(first, int):
                items.append(CharRange(first, first))
            else:
                items.append(first)

    def class_atom(self) -> int | ClassEscape | Property:
        char = self.src[self.pos]
        if char != "\\":
            self.pos += 1
            return ord(char)
        start = self.pos
        self.pos += 1
        escape = self.peek()
        if escape == "":
            raise self.invalid(start, "'\\' at end of pattern")
        if escape == "b":
            self.pos += 1
            return 0x08
        if escape in "dDsSwW":
            self.pos += 1
            return ClassEscape(escape)
        if escape in "pP":
            return self.property(start)
        return self.character_escape(start, in_class=True)


def parse(pattern: str) -> Disjunction:
    """Parse an ECMA-262 pattern (``u`` flag) into a syntax tree.

    Raises `InvalidPattern` for invalid syntax and `UnsupportedPattern` for valid
    patterns that use constructs Rust ``regex`` cannot express.
    """
    return _Parser(pattern).parse()


# --------------------------------------------------------------------------- printer

# ECMA WhiteSpace and LineTerminator code points (what \s matches).
_WHITESPACE: Final = (
    CharRange(0x09, 0x09),
    CharRange(0x0A, 0x0A),
    CharRange(0x0B, 0x0B),
    CharRange(0x0C, 0x0C),
    CharRange(0x0D, 0x0D),
    CharRange(0x20, 0x20),
    CharRange(0xA0, 0xA0),
    CharRange(0x1680, 0x1680),
    CharRange(0x2000, 0x200A),
    CharRange(0x2028, 0x2028),
    CharRange(0x2029, 0x2029),
    CharRange(0x202F, 0x202F),
    CharRange(0x205F, 0x205F),
    CharRange(0x3000, 0x3000),
    CharRange(0xFEFF, 0xFEFF),
)
_DIGIT: Final = (CharRange(0x30, 0x39),)
_WORD: Final = (*_DIGIT, CharRange(0x41, 0x5A), CharRange(0x61, 0x7A), CharRange(0x5F, 0x5F))
_CLASS_ESCAPE_SETS: Final = {"d": _DIGIT, "w": _WORD, "s": _WHITESPACE}

_RUST_META: Final = frozenset("\\.+*?()|[]{}^$")
_RUST_CLASS_META: Final = frozenset("\\[]^-&~")
_RUST_CONTROL_ESCAPES: Final = {0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r"}
_NOTHING: Final = "[^\\u{0}-\\u{10FFFF}]"
_ANYTHING: Final = "(?s:.)"
_LINE_TERMINATORS: Final = "\\n\\r\\u{2028}\\u{2029}"


def _char(code_point: int, meta: frozenset[str]) -> str:
    """Print one Unicode scalar value, escaping it if it is special or invisible."""
    if code_point in _RUST_CONTROL_ESCAPES:
        return _RUST_CONTROL_ESCAPES[code_point]
    char = chr(code_point)
    if char in meta:
        return "\\" + char
    if char != " " and unicodedata.category(char)[0] in "CZM":
        return f"\\u{{{code_point:04X}}}"
    return char


def _ranges(item: CharRange) -> list[str]:
    """Print a range without surrogates, which a Rust class cannot mention."""
    pieces = []
    if item.low < _SURROGATES.start:
        pieces.append((item.low, min(item.high, _SURROGATES.start - 1)))
    if item.high >= _SURROGATES.stop:
        pieces.append((max(item.low, _SURROGATES.stop), item.high))
    printed = []
    for low, high in pieces:
        text = _char(low, _RUST_CLASS_META)
        if high != low:
            text += "-" + _char(high, _RUST_CLASS_META)
        printed.append(text)
    return printed


def _class(negated: bool, items: tuple[ClassItem, ...]) -> str:
    parts: list[str] = []
    everything = False
    for item in items:
        if isinstance(item, CharRange):
            parts.extend(_ranges(item))
        elif isinstance(item, ClassEscape):
            ranges = _CLASS_ESCAPE_SETS[item.kind.lower()]
            body = "".join(piece for one in ranges for piece in _ranges(one))
            parts.append(f"[^{body}]" if item.kind.isupper() else body)
        elif item.rust is not None:
            parts.append(f"\\{'P' if item.negated else 'p'}{{{item.rust}}}")
        elif item.negated:
            everything = True  # \P{Cs}: every scalar value
    if everything or not parts:
        return _NOTHING if everything == negated else _ANYTHING
    if len(parts) == 1 and not negated and parts[0].startswith(("[", "\\p", "\\P")):
        return parts[0]
    return f"[{'^' if negated else ''}{''.join(parts)}]"


def _print(node: Node | Disjunction | Alternative) -> str:
    if isinstance(node, Disjunction):
        return "|".join(_print(alternative) for alternative in node.alternatives)
    if isinstance(node, Alternative):
        return "".join(_print(term) for term in node.terms)
    if isinstance(node, Literal):
        if node.code_point in _SURROGATES:
            return _NOTHING
        return _char(node.code_point, _RUST_META)
    if isinstance(node, AnyChar):
        return f"[^{_LINE_TERMINATORS}]"
    if isinstance(node, ClassEscape | Property):
        return _class(False, (node,))
    if isinstance(node, CharClass):
        return _class(node.negated, node.items)
    if isinstance(node, Assertion):
        return {"^": "\\A", "$": "\\z", "b": "(?-u:\\b)", "B": "(?-u:\\B)"}[node.kind]
    if isinstance(node, Group):
        return f"(?:{_print(node.body)})"
    return _print(node.atom) + _quantifier(node)


def _quantifier(node: Repeat) -> str:
    """The repeat's suffix, the same in Rust and Python syntax: ``*``, ``{2,5}``, ``+?``..."""
    if node.maximum is None:
        suffix = {0: "*", 1: "+"}.get(node.minimum, f"{{{node.minimum},}}")
    elif node.minimum == node.maximum:
        suffix = f"{{{node.minimum}}}"
    elif (node.minimum, node.maximum) == (0, 1):
        suffix = "?"
    else:
        suffix = f"{{{node.minimum},{node.maximum}}}"
    return suffix + ("?" if node.lazy else "")


def _rust_depth(node: Node | Disjunction | Alternative) -> int:
    """How deep Rust regex's parser nests the printed form of ``node``.

    Rust counts every group, repetition, alternation, concatenation of two or more
    items, bracketed class and union inside a class.  Classes are counted as the
    deepest form we print (a union holding a nested negated class, 4 levels).
    """
    if isinstance(node, Disjunction | Alternative):
        children = node.alternatives if isinstance(node, Disjunction) else node.terms
        inner = max((_rust_depth(child) for child in children), default=0)
        return inner + (1 if len(children) > 1 else 0)
    if isinstance(node, Group):
        return 1 + _rust_depth(node.body)
    if isinstance(node, Repeat):
        return 1 + _rust_depth(node.atom)
    if isinstance(node, Assertion):
        return 1 if node.kind in "bB" else 0  # (?-u:\b) is a group
    if isinstance(node, Literal) and node.code_point not in _SURROGATES:
        return 0
    return 4


def to_rust_regex(pattern: str) -> str:
    """Translate an ECMA-262 pattern (``u`` flag) into an equivalent Rust ``regex`` pattern.

    The result matches (with Rust's unanchored ``is_match``) exactly the strings the
    ECMA pattern matches (with ``RegExp.prototype.test``).

    Raises:
        InvalidPattern: the pattern is not valid ECMA-262 u-mode syntax.
        UnsupportedPattern: the pattern uses lookaround, backreferences or another
            construct that Rust ``regex`` cannot express.
    """
    tree = parse(pattern)
    depth = _rust_depth(tree)
    if depth > _RUST_NEST_LIMIT:
        offset = max(pattern.find("("), 0)
        raise UnsupportedPattern(
            pattern,
            offset,
            pattern[offset],
            f"nested {depth} deep once translated; Rust regex allows {_RUST_NEST_LIMIT}",
        )
    return _print(tree)


# --------------------------------------------------------------------------- Python printer

_PY_WORD: Final = "[0-9A-Za-z_]"
_PY_ASSERTIONS: Final = {
    "^": "\\A",
    "$": "\\Z",
    "b": f"(?:(?<={_PY_WORD})(?!{_PY_WORD})|(?<!{_PY_WORD})(?={_PY_WORD}))",
    "B": f"(?:(?<={_PY_WORD})(?={_PY_WORD})|(?<!{_PY_WORD})(?!{_PY_WORD}))",
}
_PY_NOTHING: Final = "[^\\x00-\\U0010ffff]"
_PY_ANYTHING: Final = "(?s:.)"


def _py_char(code_point: int) -> str:
    """One code point for ``re``, in or out of a class: ASCII letters and digits as they
    are, other printable ASCII behind a backslash, anything else as a hex escape."""
    char = chr(code_point)
    if char.isascii() and char.isalnum():
        return char
    if 0x21 <= code_point <= 0x7E:
        return "\\" + char
    if code_point < 0x100:
        return f"\\x{code_point:02x}"
    if code_point < 0x10000:
        return f"\\u{code_point:04x}"
    return f"\\U{code_point:08x}"


def _py_ranges(pattern: str, negated: bool, items: tuple[ClassItem, ...]) -> list[tuple[int, int]]:
    """The code points a class matches, as sorted disjoint inclusive ranges."""
    pieces: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, CharRange):
            pieces.append((item.low, item.high))
        elif isinstance(item, ClassEscape):
            own = [(r.low, r.high) for r in _CLASS_ESCAPE_SETS[item.kind.lower()]]
            pieces += _complement(own) if item.kind.isupper() else own
        else:
            offset = max(pattern.find("\\p"), pattern.find("\\P"), 0)
            raise UnsupportedPattern(
                pattern, offset, pattern[offset : offset + 2], "Python re has no Unicode properties"
            )
    merged: list[tuple[int, int]] = []
    for low, high in sorted(pieces):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return _complement(merged) if negated else merged


def _complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every code point (surrogates included) outside ``ranges`` (sorted, disjoint)."""
    result, start = [], 0
    for low, high in sorted(ranges):
        if low > start:
            result.append((start, low - 1))
        start = max(start, high + 1)
    if start <= _MAX_CODE_POINT:
        result.append((start, _MAX_CODE_POINT))
    return result


def _py_class(pattern: str, negated: bool, items: tuple[ClassItem, ...]) -> str:
    ranges = _py_ranges(pattern, negated, items)
    if not ranges:
        return _PY_NOTHING
    if ranges == [(0, _MAX_CODE_POINT)]:
        return _PY_ANYTHING
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _py_char(ranges[0][0])
    # A set that reaches the last code point is printed as the complement of what it
    # leaves out: re compiles a short negated class far faster than huge ranges.
    negate = ranges[-1][1] == _MAX_CODE_POINT
    shown = _complement(ranges) if negate else ranges
    body = "".join(
        _py_char(low) if low == high else f"{_py_char(low)}-{_py_char(high)}" for low, high in shown
    )
    return f"[{'^' if negate else ''}{body}]"


def _py_print(pattern: str, node: Node | Disjunction | Alternative) -> str:
    if isinstance(node, Disjunction):
        return "|".join(_py_print(pattern, alternative) for alternative in node.alternatives)
    if isinstance(node, Alternative):
        return "".join(_py_print(pattern, term) for term in node.terms)
    if isinstance(node, Literal):
        return _py_char(node.code_point)
    if isinstance(node, AnyChar):
        return "[^\\n\\r\\u2028\\u2029]"
    if isinstance(node, ClassEscape | Property):
        return _py_class(pattern, False, (node,))
    if isinstance(node, CharClass):
        return _py_class(pattern, node.negated, node.items)
    if isinstance(node, Assertion):
        return _PY_ASSERTIONS[node.kind]
    if isinstance(node, Group):
        return f"(?:{_py_print(pattern, node.body)})"
    # Every atom prints as one unit: a character, an escape, a class or a group.
    return _py_print(pattern, node.atom) + _quantifier(node)


def to_python_regex(pattern: str) -> str:
    """Translate an ECMA-262 pattern (``u`` flag) into an equivalent Python ``re`` pattern.

    The result matches (with ``re.search``) exactly the strings the ECMA pattern
    matches (with ``RegExp.prototype.test``).

    Raises:
        InvalidPattern: the pattern is not valid ECMA-262 u-mode syntax.
        UnsupportedPattern: the pattern uses lookaround, backreferences, a Unicode
            property or another construct that cannot be translated.
    """
    import re  # only the generator compiles, to prove the translation

    printed = _py_print(pattern, parse(pattern))
    try:
        re.compile(printed)
    except (re.error, OverflowError, RecursionError) as error:
        raise UnsupportedPattern(
            pattern, 0, pattern[:1], f"Python re refuses it: {error}"
        ) from None
    return printed
