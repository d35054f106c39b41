"""
The benchmark: seeds a PostgreSQL database with N cases, starts gunicorn on it
and drives every measured endpoint over real HTTP. Run ``python -m bench --help``.
"""
