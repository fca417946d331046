# The operator's screens, in the station's language: start-up checks, recovery, sign-in and
# lock, the queue, the history and the dialogs.

## Start-up checks

startup-title = Starting the station
startup-running = Running the start-up checks…
startup-ok = OK
startup-failed = FAILED
startup-fix = Fix what failed (see the remedies above), then restart the station. Continuing lets you look around, but issuing keys may fail.
startup-continue = Continue anyway

## The start-up checks' names: `check-` and the engine's name of the check (CheckKind)

check-Configuration = Configuration valid
check-StationSettings = Station settings valid
check-EngineStarted = Station engine started
check-SignIn = Sign-in to Entra ID
check-GraphReachable = Microsoft Graph reachable
check-UsersGroup = Users-in-scope group found
check-Fido2Policy = FIDO2 method policy
check-Fido2Enabled = FIDO2 passkeys enabled
check-SelfServiceSetup = Self-service setup allowed
check-KeyRestrictions = Key restrictions
check-Journal = Journal writable
check-SecretFileModes = Secret files readable only by the station's user
check-KeyAccess = Security keys can be opened
check-CardReaders = Card readers (pcscd) answer
check-DiskSpace = Room for the journal
check-Clock = Clock in sync

## Unfinished enrollments from the last run

recovery-title = Unfinished enrollments from the last run
recovery-hint = The station stopped while these were in progress. Nothing was lost: each was finished or needs the action shown.
recovery-stopped-at = stopped at { $state }
recovery-continue = Continue
recovery-reveal-first = Reveal the PINs first.
recovery-pin-of = Random PIN of { $name }:
recovery-pin-hint = Hand it over privately to this person only; it is not shown again.
recovery-pin-never-received = { $name } never received the random PIN of this key.
recovery-reveal = Reveal PIN of { $name }

## Sign-in

sign-in-title = Operator sign-in
sign-in-no-passcode = No operator passcode is set up on this station.
sign-in-no-passcode-hint = An administrator runs `passkey-kiosk set-passcode` next to configs.json, then restarts the station.
sign-in-hint = Your name goes on every record this station writes.
sign-in-name = Operator name
sign-in-demo = Demo mode: no passcode needed.
sign-in = Sign in
sign-in-signed-out-idle = The station was locked: the last operator was signed out.
sign-in-delegated-hint = Sign in with your Entra ID administrator account. Keys are registered with your own rights, and your name goes on every record this station writes.
sign-in-entra = Sign in with Entra ID
device-code-open = On a phone or computer, open
device-code-enter = and enter the code
device-code-expires = Code expires in { $time }
device-code-waiting = Waiting for you to approve. Sign in with your own administrator account (Authentication Administrator).
device-code-cancel = Cancel sign-in
device-code-expired = The sign-in code expired before it was used.
device-code-new = Get a new code
device-code-asking = Asking Entra ID for a sign-in code…

## Passcode

passcode-field = Passcode
passcode-checking = Checking the passcode…
passcode-pause = Too many wrong passcodes: try again in { $time }
passcode-not-checked = Not checked: wait for the pause to end.
passcode-wrong = Wrong passcode.
passcode-wrong-try-again = Wrong passcode. Try again.
passcode-failures = { $failures } wrong passcodes in a row.

## Lock

lock-title = Station locked
lock-signing-out = Signing out…
lock-signed-in = Signed in: { $operator }. Work in progress continues in the background.
lock-unlock = Unlock
lock-switch-operator = Switch operator

## Queue

queue-find = Find a person
queue-counts = { $shown } shown of { $total } · { $ready } ready · { $waiting } waiting · { $enrolled } enrolled · { $failed } failed
queue-refresh = Refresh from the group
queue-being-fetched = The queue is being fetched from the scope group.
queue-empty = The queue is empty: nobody in the scope group yet, or it could not be fetched.
queue-challenge-expired = challenge expired
queue-expires-in = expires in { $minutes } min
queue-valid = valid { $duration }
duration-days = { $days } days
duration-hours = { $hours } h
duration-minutes = { $minutes } min
status-waiting = waiting
status-ready = ready
status-in-progress = in progress
status-enrolled = enrolled
status-failed = failed
status-held-at = at { $station }
status-enrolled-at = enrolled at { $station }
queue-fetching = Fetching the queue from the group…
queue-fetching-count = Fetching the queue from the group: { $done } of { $total } people
queue-refresh-failed = Queue refresh failed, the queue was kept: { $error }
queue-the-group = the group
queue-refreshed = Queue refreshed from { $group }: { $updated } people updated, { $added } new
queue-refreshed-kept = , { $kept } left as they were (enrolled or in progress)
queue-refreshed-removed = , { $removed } removed (left the group)
queue-refreshed-failures = ; { $failed } failed, e.g. { $example }
background-failure = Enrollment of { $upn } failed: { $error }
background-failure-open = Open { $upn }

## History

history-title = History
history-hint = Enrollments in this station's journal, newest first (the last { $limit }); passkey-kiosk export has the full record.
history-empty = Nothing issued yet.
history-time = Time (UTC)
history-person = Person
history-serial = Key serial
history-outcome = Outcome
history-issued = key issued
history-issued-method = key issued (method { $method })
history-failed = failed: { $error }
history-unfinished = unfinished ({ $state })
history-unfinished-error = unfinished ({ $state }): { $error }

## Re-issue a key (factory reset)

reset-title = Erase this key?
reset-warning = A factory reset deletes every passkey and the PIN on the key. Use it only for a returned key.
reset-erase = Erase the key
reset-keep = Keep the key
reset-reinsert-title = Re-insert and touch the key
reset-touch-warning = Touching it erases every passkey and the PIN on it.
reset-done-title = Key reset
reset-done = The key is empty and can be issued to someone again.

## Exit

exit-title = Exit the station?
exit-hint = Work in progress is finished first; nothing is lost.
exit-confirm = Exit the station
exit-stay = Stay
