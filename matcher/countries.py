"""Country codes and NUTS region codes: the one check every input and every filter goes through.

Country filters compare codes exactly, so a code no record can carry ("XX", "NOR") would silently
match nothing; it is refused instead. Codes are ISO 3166-1 alpha-2. The EU writes Greece "EL" and
the United Kingdom "UK" (TED, NUTS); both are ISO's "exceptionally reserved" codes for those very
countries, so they are read as "GR" and "GB" rather than refused, and stored in ISO form.
"""

from __future__ import annotations

import re

# The 249 officially assigned ISO 3166-1 alpha-2 codes (as in Debian's iso-codes 4.15).
_ASSIGNED = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
    IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
    NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
    SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_3166_ALPHA2 = frozenset(_ASSIGNED.split())
EU_ALIASES = {"EL": "GR", "UK": "GB"}
# NUTS: the country's two letters, then up to three letters or digits (NO081, SE232, UKD47, EL30).
_NUTS = re.compile(r"[A-Z]{2}[0-9A-Z]{0,3}")


def country_code(raw: str) -> str:
    """The ISO 3166-1 alpha-2 code of ``raw`` (case and EU aliases normalised); ``ValueError`` if it is none."""
    code = raw.strip().upper() if raw.isascii() else ""  # "nı".upper() would be "NI"
    code = EU_ALIASES.get(code, code)
    if code not in ISO_3166_ALPHA2:
        raise ValueError(f"'{raw}' is not an ISO 3166-1 alpha-2 country code (such as NO, SE, GB)")
    return code


def nuts_code(raw: str) -> str:
    """A NUTS code or code prefix, upper-cased; ``ValueError`` for anything else (wildcards included)."""
    code = raw.strip().upper() if raw.isascii() else ""
    if not _NUTS.fullmatch(code):
        raise ValueError(f"'{raw}' is not a NUTS code: two letters, then up to three letters or digits (such as NO081)")
    return code
