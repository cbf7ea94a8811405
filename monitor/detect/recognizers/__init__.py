"""leakmon's own Presidio recognizers, one per module; the analyzer loads each class listed here."""

from __future__ import annotations

import os

# Presidio's e-mail recognizer imports tldextract, which reads this variable once, at
# import, and would otherwise fetch the public suffix list over the network. Empty
# means "use the bundled snapshot". It must be set before presidio is first imported,
# and the modules below import it.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from monitor.detect.recognizers.cii_number import CiiNumberRecognizer
from monitor.detect.recognizers.date_of_birth import DateOfBirthRecognizer
from monitor.detect.recognizers.person_name import NameListRecognizer
from monitor.detect.recognizers.us_driver_license_ca import CaliforniaDriverLicenseRecognizer

__all__ = [
    "RECOGNIZER_CLASSES",
    "CaliforniaDriverLicenseRecognizer",
    "CiiNumberRecognizer",
    "DateOfBirthRecognizer",
    "NameListRecognizer",
]

#: The built-in recognizers, each buildable with no arguments. ``build_analyzer`` adds
#: one instance of each; a new recognizer module is wired in by adding its class here.
RECOGNIZER_CLASSES = (
    CaliforniaDriverLicenseRecognizer,
    CiiNumberRecognizer,
    DateOfBirthRecognizer,
    NameListRecognizer,
)
