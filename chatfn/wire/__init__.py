"""The wire: from a profile to an SDK client, the SSE bytes, and one assembled message.

Owns talking to a model server: the endpoint and its client, decoding the stream, putting
deltas together, and turning transport failures into one line. A second protocol lives
beside the first here. Imports :mod:`chatfn.settings` and the base layer.
"""
