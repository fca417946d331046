# What the operator should do about an error (the engine's remedies, worded for the kiosk:
# they name the station's own buttons). The English words are the engine's own, which the
# journal keeps; a unit test holds them equal.

remedy-retry = Press Retry: the station checks what was already registered before trying again
remedy-retry-later = Wait a minute, then press Retry
remedy-check-network = Check the station's network cable or Wi-Fi, then press Retry
remedy-reinsert-key = The key was removed or stopped answering: re-insert it and retry; what was done is kept
remedy-replug-key = Remove the key, insert it again, then press Retry
remedy-reinsert-and-reset = Remove the key, insert it again, and use Re-issue a key within 10 seconds
remedy-reset-key = Use Re-issue a key to reset it (this erases its passkeys and PIN), then enroll the person again; or use another key
remedy-pin-already-set = The key already has a PIN: enter it when asked, or use Re-issue a key to reset it
remedy-change-pin = The key demands a PIN change first: use Re-issue a key to reset it, or use another key
remedy-check-pin = Check the PIN with the person and retry
remedy-pin-rules = Choose a PIN that meets the key's rules
remedy-key-refuses-random-pins = This key's own PIN rules refused every PIN the station generated: use another key; if keys of this model keep refusing, tell the administrator
remedy-provide-pin = Enter the key's PIN when the station asks for it
remedy-reset-over-usb = This card refuses a factory reset on the reader: reset it plugged into USB (if it has a port) or with its maker's tool, then bring it back
remedy-touch-key = Press Retry and touch the key when it blinks
remedy-use-another-key = Remove it and use another key
remedy-use-another-key-model = Use another key model
remedy-already-registered = This key already holds a passkey for this person: use another key
remedy-retry-or-another-key = Press Retry; if it happens again, use another key
remedy-start-again = Start again when ready
remedy-check-journal = Tell the administrator: the station's journal cannot be written (disk space, permissions)
remedy-refresh-queue = Refresh the queue from the group, then choose the person again
remedy-refresh-queue-again = Refresh the queue again; if it fails again, tell the administrator (network, configuration)
remedy-sign-in-again = Sign in again, then press Retry
remedy-another-operator = Another operator must enroll this person: an administrator cannot issue a key to their own account
remedy-check-configuration = Tell the administrator: the station's configuration (tenant, client id, cloud) needs checking
# $action: the administrator's action, as the engine words it (English).
remedy-administrator = Ask the tenant's administrator: { $action }
remedy-restart-station = Restart the station
# $key: "key serial 123" or "the key", as the engine words it.
remedy-apply-pin-policy = Hand { $key } to an administrator to apply the PIN policy before it is given out
remedy-finish-enrollment = Re-insert { $key } and enroll { $upn } again from the queue
