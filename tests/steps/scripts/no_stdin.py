#!/usr/bin/env python3
"""Never reads stdin: prints {"ignored": true} and exits 0 at once."""
import os

os.write(1, b'{"ignored": true}\n')
os.close(0)
