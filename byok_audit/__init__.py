"""byok-audit: audit "bring your own key" LLM platforms with evidence.

The toolkit starts a target platform behind an intercepting proxy, answers its model-provider calls with
a local mock, drives its API from a declarative profile, scans everything it wrote or sent for canary
secrets, and grades the result against a stable check catalog.
"""

__version__ = "0.1.0"

#: Version of the check catalog and grading rules. Bumped whenever a check's meaning or a cap changes,
#: so a result can always be read against the criteria it was graded with.
CRITERIA_VERSION = "1"

__all__ = ["CRITERIA_VERSION", "__version__"]
