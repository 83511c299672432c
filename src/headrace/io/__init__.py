"""File access that works the same on local paths and on artifact-store URLs.

``headrace.io.fileio`` is what custom materializers ported from ZenML use
(``fileio.open(os.path.join(self.uri, "data.txt"), "w")``).
"""
