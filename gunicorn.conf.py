"""gunicorn settings for labstudy: `gunicorn -c gunicorn.conf.py labstudy.wsgi`.

Every value can be overridden from the environment (LABSTUDY_BIND, LABSTUDY_WORKERS,
LABSTUDY_THREADS, LABSTUDY_TIMEOUT) so one file serves a lab PC and a facility server.
"""

import multiprocessing
import os

bind = os.environ.get("LABSTUDY_BIND", "127.0.0.1:8000")
# Requests are short and mostly wait on the database: a few processes, a few threads each.
workers = int(os.environ.get("LABSTUDY_WORKERS", str(multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.environ.get("LABSTUDY_THREADS", "4"))
worker_class = "gthread"
# Exports stream large files; give them time, but never hang forever.
timeout = int(os.environ.get("LABSTUDY_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
accesslog = os.environ.get("LABSTUDY_ACCESS_LOG", "-")
# The usual combined format plus the time the request took (ms), so slow pages show.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("LABSTUDY_FORWARDED_ALLOW_IPS", "127.0.0.1")
