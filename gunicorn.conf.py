"""gunicorn settings read from the working directory (the Procfile's `web` process starts here).

The access log is off unless enabled (--access-logfile); when it is, it must not store visitors'
IP addresses or referrers: this format has neither (README, "Click tracking"). It equals
service.tracking.visitors.ACCESS_LOG_FORMAT (a test keeps them in step; not imported, so the
master process loads no application code).
"""

access_log_format = '%(t)s "%(r)s" %(s)s %(b)s %(L)s'
