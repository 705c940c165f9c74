"""`greatwork`, the command line (cli/app.py)."""
