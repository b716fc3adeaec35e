"""Allow ``python -m ganspec``."""

from ganspec.cli import main

if __name__ == "__main__":
    main()
