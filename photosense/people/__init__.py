"""People: faces found in photos, their 128-d descriptors, and their grouping into people.

The pure core of the people capability: no database, no Qt. :mod:`.faces` finds and describes
faces (dlib), :mod:`.clusters` groups them, :mod:`.intent` reads "people" in a text query.
"""
