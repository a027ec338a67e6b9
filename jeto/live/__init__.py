"""GraphQL over websockets: both protocols, and subscriptions that share one execution per change.

protocols.py  what each protocol's messages are, their checks and close codes
socket.py     one websocket, from the handshake to the close
fanout.py     groups of subscribers that ask the same thing, each executed once per change
outbox.py     what one socket has yet to send, bounded for a slow reader
keys.py       an API key's sockets closed when it is revoked or expires, one watch per account
"""
