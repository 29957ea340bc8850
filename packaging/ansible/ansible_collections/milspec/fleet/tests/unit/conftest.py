# Puts packaging/ansible on sys.path so `ansible_collections.milspec.fleet` imports
# from this tree (tests/fleet/unit runs pytest on this directory).
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 5)))
