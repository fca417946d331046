# Die Bildschirme des Bedieners, in der Sprache der Station: Startprüfungen, Wiederherstellung,
# Anmeldung und Sperre, Warteliste, Verlauf und die Dialoge.

## Startprüfungen

startup-title = Station wird gestartet
startup-running = Startprüfungen laufen…
startup-ok = OK
startup-failed = FEHLER
startup-fix = Beheben Sie, was fehlschlug (siehe die Abhilfen oben), und starten Sie die Station neu. Sie können sich umsehen, aber die Ausgabe von Schlüsseln kann fehlschlagen.
startup-continue = Trotzdem fortfahren

## Die Namen der Startprüfungen: `check-` und der Name der Prüfung in der Engine (CheckKind)

check-Configuration = Konfiguration gültig
check-StationSettings = Stationseinstellungen gültig
check-EngineStarted = Stations-Engine gestartet
check-SignIn = Anmeldung bei Entra ID
check-GraphReachable = Microsoft Graph erreichbar
check-UsersGroup = Gruppe der Berechtigten gefunden
check-Fido2Policy = FIDO2-Methodenrichtlinie
check-Fido2Enabled = FIDO2-Passkeys aktiviert
check-SelfServiceSetup = Self-Service-Einrichtung erlaubt
check-KeyRestrictions = Schlüsselbeschränkungen
check-Journal = Journal beschreibbar
check-SecretFileModes = Geheime Dateien nur für den Benutzer der Station lesbar
check-KeyAccess = Sicherheitsschlüssel lassen sich öffnen
check-CardReaders = Kartenlesegeräte (pcscd) antworten
check-DiskSpace = Platz für das Journal
check-Clock = Uhr synchron

## Unterbrochene Ausgaben des letzten Laufs

recovery-title = Unterbrochene Ausgaben des letzten Laufs
recovery-hint = Die Station hielt an, während diese liefen. Nichts ging verloren: Jede wurde abgeschlossen oder braucht den genannten Schritt.
recovery-stopped-at = angehalten bei { $state }
recovery-continue = Weiter
recovery-reveal-first = Zeigen Sie zuerst die PINs an.
recovery-pin-of = Zufällige PIN von { $name }:
recovery-pin-hint = Übergeben Sie sie unter vier Augen nur dieser Person; sie wird nicht noch einmal angezeigt.
recovery-pin-never-received = { $name } hat die zufällige PIN dieses Schlüssels nie erhalten.
recovery-reveal = PIN von { $name } anzeigen

## Anmeldung

sign-in-title = Anmeldung des Bedieners
sign-in-no-passcode = Auf dieser Station ist kein Bediener-Kennwort eingerichtet.
sign-in-no-passcode-hint = Eine Administratorin oder ein Administrator führt `passkey-kiosk set-passcode` neben configs.json aus und startet die Station neu.
sign-in-hint = Ihr Name steht in jedem Eintrag, den diese Station schreibt.
sign-in-name = Name des Bedieners
sign-in-demo = Demo-Modus: kein Kennwort nötig.
sign-in = Anmelden
sign-in-signed-out-idle = Die Station wurde gesperrt: Der letzte Bediener wurde abgemeldet.
sign-in-delegated-hint = Melden Sie sich mit Ihrem Entra-ID-Administratorkonto an. Schlüssel werden mit Ihren eigenen Rechten registriert, und Ihr Name steht in jedem Eintrag, den diese Station schreibt.
sign-in-entra = Mit Entra ID anmelden
device-code-open = Öffnen Sie auf einem Telefon oder Computer
device-code-enter = und geben Sie den Code ein
device-code-expires = Der Code läuft ab in { $time }
device-code-waiting = Warten auf Ihre Bestätigung. Melden Sie sich mit Ihrem eigenen Administratorkonto an (Authentifizierungsadministrator).
device-code-cancel = Anmeldung abbrechen
device-code-expired = Der Anmeldecode ist abgelaufen, bevor er verwendet wurde.
device-code-new = Neuen Code anfordern
device-code-asking = Anmeldecode wird bei Entra ID angefordert…

## Kennwort

passcode-field = Kennwort
passcode-checking = Kennwort wird geprüft…
passcode-pause = Zu viele falsche Kennwörter: erneut versuchen in { $time }
passcode-not-checked = Nicht geprüft: Warten Sie das Ende der Pause ab.
passcode-wrong = Falsches Kennwort.
passcode-wrong-try-again = Falsches Kennwort. Versuchen Sie es erneut.
passcode-failures = { $failures } falsche Kennwörter in Folge.

## Sperre

lock-title = Station gesperrt
lock-signing-out = Abmeldung…
lock-signed-in = Angemeldet: { $operator }. Laufende Arbeit geht im Hintergrund weiter.
lock-unlock = Entsperren
lock-switch-operator = Bediener wechseln

## Warteliste

queue-find = Person suchen
queue-counts = { $shown } von { $total } angezeigt · { $ready } bereit · { $waiting } wartend · { $enrolled } ausgestattet · { $failed } fehlgeschlagen
queue-refresh = Aus der Gruppe aktualisieren
queue-being-fetched = Die Warteliste wird aus der Gruppe geholt.
queue-empty = Die Warteliste ist leer: noch niemand in der Gruppe, oder sie konnte nicht geholt werden.
queue-challenge-expired = Challenge abgelaufen
queue-expires-in = läuft ab in { $minutes } min
queue-valid = gültig { $duration }
duration-days = { $days } Tage
duration-hours = { $hours } h
duration-minutes = { $minutes } min
status-waiting = wartend
status-ready = bereit
status-in-progress = läuft
status-enrolled = ausgestattet
status-failed = fehlgeschlagen
status-held-at = an { $station }
status-enrolled-at = ausgestattet an { $station }
queue-fetching = Warteliste wird aus der Gruppe geholt…
queue-fetching-count = Warteliste wird aus der Gruppe geholt: { $done } von { $total } Personen
queue-refresh-failed = Aktualisierung fehlgeschlagen, die Warteliste bleibt: { $error }
queue-the-group = der Gruppe
queue-refreshed = Warteliste aus { $group } aktualisiert: { $updated } Personen aktualisiert, { $added } neu
queue-refreshed-kept = , { $kept } unverändert (ausgestattet oder in Arbeit)
queue-refreshed-removed = , { $removed } entfernt (nicht mehr in der Gruppe)
queue-refreshed-failures = ; { $failed } fehlgeschlagen, z. B. { $example }
background-failure = Ausgabe für { $upn } fehlgeschlagen: { $error }
background-failure-open = { $upn } öffnen

## Verlauf

history-title = Verlauf
history-hint = Ausgaben im Journal dieser Station, neueste zuerst (die letzten { $limit }); passkey-kiosk export enthält alles.
history-empty = Noch nichts ausgegeben.
history-time = Zeit (UTC)
history-person = Person
history-serial = Seriennummer
history-outcome = Ergebnis
history-issued = Schlüssel ausgegeben
history-issued-method = Schlüssel ausgegeben (Methode { $method })
history-failed = fehlgeschlagen: { $error }
history-unfinished = unvollständig ({ $state })
history-unfinished-error = unvollständig ({ $state }): { $error }

## Schlüssel neu ausgeben (Zurücksetzen)

reset-title = Diesen Schlüssel löschen?
reset-warning = Das Zurücksetzen löscht alle Passkeys und die PIN auf dem Schlüssel. Nur für zurückgegebene Schlüssel verwenden.
reset-erase = Schlüssel löschen
reset-keep = Schlüssel behalten
reset-reinsert-title = Schlüssel neu einstecken und berühren
reset-touch-warning = Die Berührung löscht alle Passkeys und die PIN darauf.
reset-done-title = Schlüssel zurückgesetzt
reset-done = Der Schlüssel ist leer und kann wieder ausgegeben werden.

## Beenden

exit-title = Station beenden?
exit-hint = Laufende Arbeit wird zuerst abgeschlossen; nichts geht verloren.
exit-confirm = Station beenden
exit-stay = Bleiben
