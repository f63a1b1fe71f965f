#!/usr/bin/env python3
"""Django's command-line utility for this example. Run it with Debian's Python: /usr/bin/python3."""
import os
import sys


def main():
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'example_site.settings')
    try:
        from django.core.management import execute_from_command_line
    except ImportError as error:
        raise SystemExit(
            'Django is not installed for this Python. This example uses Debian\'s packages only:\n'
            '  apt-get install python3-django python3-jwt python3-authlib python3-requests\n'
            'and runs with /usr/bin/python3 (not a virtualenv or pyenv python).'
        ) from error
    execute_from_command_line(sys.argv)


if __name__ == '__main__':
    main()
