"""Loading, validating and editing zuul.d/: the job definitions are code."""
