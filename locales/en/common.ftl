# Shared by every screen: the frame around them (key line, demo banner, operator bar), the
# error box, common buttons, and how a key or card is brought to the station.

## Buttons

retry = Retry
cancel = Cancel
ok = OK
dismiss = Dismiss

## The error box (the engine's message and remedy stay in English)

what-to-do = What to do: { $remedy }
error-code = Code: { $code }
graph-request-id = Graph request-id:
with-request-id = { $message } (request-id { $id })

## The key line at the bottom

no-key = No key inserted
key-line = Key: { $model }
key-line-serial = Key: { $model } · serial { $serial }
close-refused = The station closes only with Exit (operator bar).

## The demo banner

demo-banner = Fake tenant and software keys: nothing here is real.
demo-remove-key = Remove the key
demo-insert-key = Insert a new key
demo-tap-card = Tap a card

## The operator bar

nav-queue = Queue
nav-history = History
nav-reissue = Re-issue a key
nav-exit = Exit
nav-lock = Lock
nav-operator = Operator: { $operator }

## User presence: a USB key is touched and re-inserted, a card is held on the reader

presence-key-touch = Touch the key now
presence-key-touch-hint = The key blinks: touch its metal contact or button once.
presence-key-reinsert = Remove the key, insert it again, and touch it within 10 seconds.
presence-key-reinsert-hint = Keys accept a reset only just after they are plugged in.
presence-card-touch = Hold the card on the reader
presence-card-touch-hint = Keep it there, still, until the station says it is done.
presence-card-reinsert = Take the card off the reader, then put it back and keep it there
presence-card-reinsert-hint = Cards accept a reset only just after they are placed on the reader.
