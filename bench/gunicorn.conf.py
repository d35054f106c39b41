"""
gunicorn settings of the benchmark's server.

Passed with ``-c`` so that gunicorn does not read the project's own
``gunicorn.conf.py`` from the working directory: that file runs gthread workers
with 4 threads (which overrides ``--worker-class sync``), recycles each worker
after about 2,000 requests (which would make the memory reading after 20,000
impossible) and writes an access log line per request. The benchmark wants 2
plain sync workers, one request at a time each, that live for the whole run.
"""

worker_class = "sync"
threads = 1
max_requests = 0
max_requests_jitter = 0
accesslog = None
errorlog = "-"
loglevel = "warning"
timeout = 120
