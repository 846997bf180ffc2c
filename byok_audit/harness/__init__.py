"""The interception harness: the only package that imports mitmproxy.

:class:`Proxy` runs mitmdump as a child process with our addons (recorder, mock provider, sink,
blocker); everything else talks to it through files in its run dir.
"""

from byok_audit.harness.proxy import ENGINE, Proxy

__all__ = ["ENGINE", "Proxy"]
