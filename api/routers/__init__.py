"""One router per resource; each endpoint declares the roles it admits."""
