"""Text understanding: normalisation (monitor.text.normalize, which needs nltk and
Sastrawi) and personal-data redaction (monitor.text.redact, plain Python).

Import the submodule you need: this package imports neither, so reading HTML or
redacting a line never loads the language libraries."""
