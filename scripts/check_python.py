"""Fail early, with a sentence, when the interpreter is too old."""

import sys

if sys.version_info < (3, 11):
    sys.exit(f"Firebreak needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
