# The enrollment wizard, in the person's language: step bar, insert key, PIN, touch, working,
# done page and PIN reveal.

## Step bar (each step also says its state to assistive technology)

stage-person = Person
stage-key = Insert key
stage-pin = PIN
stage-touch = Touch
stage-registering = Registering
stage-done = Done
stage-state-done = done
stage-state-failed = failed
stage-state-current = current
stage-state-to-do = to do

back-to-queue = Back to the queue
cancelling = Cancelling…

## Insert a key

insert-key = Insert a new security key
insert-key-used = The key in the reader was already used: take it out, then insert a new key (or the same one again to retry).
insert-key-or-card-hint = Any USB port, or place a FIDO2 card on the reader. The station reads it as soon as it is there.
insert-key-hint = Any USB port. The station reads it as soon as it is in.

## The key's details

key-model = Model
key-serial = Serial
key-aaguid = AAGUID
key-firmware = Firmware
key-pin = PIN
key-min-pin-length = Minimum PIN length
key-not-reported = not reported
key-pin-unsupported = not supported
key-pin-not-set = not set
key-pin-set = set
key-refused = This key cannot be issued: { $why }
key-refused-see-banner = the reason is in the banner above
key-refused-hint = Remove it and insert another key.
key-accepted = Key accepted, preparing…

## What the station is doing

step-waiting-for-key = Waiting for a key…
step-checking-key = Reading the key…
step-setting-pin = Setting the PIN…
step-refreshing-challenge = Fetching a fresh challenge from Entra ID…
step-creating-passkey = Creating the passkey on the key…
step-registering = Registering the key with Entra ID…
step-hardening = Applying the PIN policy to the key…
step-removing-old-keys = Removing the person's older keys…
step-recording = Recording the enrollment…

## PIN entry

pin-new = Choose the new PIN for this key
pin-new-hint = The person will type it whenever they sign in. Digits are fine.
pin-set = Set PIN
pin-current = Enter this key's current PIN
pin-wrong = Wrong PIN: the key kept its PIN. Check it with the person.
pin-retries-left = { $retries } attempts left before the key blocks
pin-use = Use PIN
pin-field = PIN
pin-typed = { $typed } typed · at least { $needed } needed
pin-clear = Clear
pin-delete = Delete

## Done page and PIN reveal

done-issued-to = Key issued to { $name }
done-serial = Key serial { $serial }
done-method = Entra ID method { $method }
done-remove-key = Remove the key and give it to the person.
done-next-person = Next person
done-reveal-first = Reveal the PIN first.
done-pin-title = PIN for this key
done-pin-hint = Hand it over privately; it is not shown again.
done-pin-hidden = The key has a new random PIN.
done-pin-hidden-hint = Reveal it only to the person it belongs to.
done-reveal = Reveal PIN
done-pin-typed = The PIN was typed at the station: the person already knows it.
done-print-letter = Print letter
done-print-letter-again = Print letter again
done-printing = Printing the letter…
done-printed = The letter went to the printer: give it to the person, folded.
