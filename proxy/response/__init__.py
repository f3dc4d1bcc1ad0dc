"""The response direction: what happens to a vendor's answer on its way to the client.

One processor per answer (`process.AnswerProcessor` whole, `process.StreamProcessor` streamed)
runs an ordered list of filters over its text: first `restore.Restore` (pseudonyms back to their
originals), then, when a policy has response rules, `guard.ResponseGuard` (the same `proxy.scan`
in the "response" direction). The stream processor alone keeps the text each filter holds back
per stream key, flushes it when a choice or the stream ends, and keeps both sides of the answer
for the record.
"""
