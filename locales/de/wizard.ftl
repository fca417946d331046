# Der Ausgabe-Assistent, in der Sprache der Person: Schrittleiste, Schlüssel einstecken, PIN,
# Berühren, Arbeit, Abschlussseite und PIN-Anzeige.

## Schrittleiste (jeder Schritt nennt Hilfstechnologien auch seinen Zustand)

stage-person = Person
stage-key = Schlüssel
stage-pin = PIN
stage-touch = Berühren
stage-registering = Registrierung
stage-done = Fertig
stage-state-done = erledigt
stage-state-failed = fehlgeschlagen
stage-state-current = aktuell
stage-state-to-do = offen

back-to-queue = Zurück zur Warteliste
cancelling = Wird abgebrochen…

## Schlüssel einstecken

insert-key = Stecken Sie einen neuen Sicherheitsschlüssel ein
insert-key-used = Der Schlüssel im Lesegerät wurde schon verwendet: Ziehen Sie ihn ab und stecken Sie einen neuen ein (oder denselben erneut, um es noch einmal zu versuchen).
insert-key-or-card-hint = An einen beliebigen USB-Anschluss, oder legen Sie eine FIDO2-Karte auf das Lesegerät. Die Station liest ihn, sobald er da ist.
insert-key-hint = An einen beliebigen USB-Anschluss. Die Station liest ihn, sobald er steckt.

## Angaben zum Schlüssel

key-model = Modell
key-serial = Seriennummer
key-aaguid = AAGUID
key-firmware = Firmware
key-pin = PIN
key-min-pin-length = Mindestlänge der PIN
key-not-reported = nicht gemeldet
key-pin-unsupported = nicht unterstützt
key-pin-not-set = nicht gesetzt
key-pin-set = gesetzt
key-refused = Dieser Schlüssel kann nicht ausgegeben werden: { $why }
key-refused-see-banner = Der Grund steht in der Meldung oben
key-refused-hint = Ziehen Sie ihn ab und stecken Sie einen anderen Schlüssel ein.
key-accepted = Schlüssel angenommen, wird vorbereitet…

## Was die Station gerade tut

step-waiting-for-key = Warten auf einen Schlüssel…
step-checking-key = Schlüssel wird gelesen…
step-setting-pin = PIN wird gesetzt…
step-refreshing-challenge = Neue Challenge wird von Entra ID geholt…
step-creating-passkey = Passkey wird auf dem Schlüssel erstellt…
step-registering = Schlüssel wird bei Entra ID registriert…
step-hardening = PIN-Richtlinie wird auf den Schlüssel angewendet…
step-removing-old-keys = Ältere Schlüssel der Person werden entfernt…
step-recording = Ausgabe wird gespeichert…

## PIN-Eingabe

pin-new = Wählen Sie die neue PIN für diesen Schlüssel
pin-new-hint = Die Person gibt sie bei jeder Anmeldung ein. Ziffern genügen.
pin-set = PIN setzen
pin-current = Geben Sie die aktuelle PIN des Schlüssels ein
pin-wrong = Falsche PIN: Der Schlüssel behält seine PIN. Prüfen Sie sie mit der Person.
pin-retries-left = { $retries ->
    [one] Noch { $retries } Versuch, bevor der Schlüssel sperrt
   *[other] Noch { $retries } Versuche, bevor der Schlüssel sperrt
}
pin-use = PIN verwenden
pin-field = PIN
pin-typed = { $typed } eingegeben · mindestens { $needed } nötig
pin-clear = Leeren
pin-delete = Löschen

## Abschlussseite und PIN-Anzeige

done-issued-to = Schlüssel ausgegeben an { $name }
done-serial = Seriennummer { $serial }
done-method = Entra-ID-Methode { $method }
done-remove-key = Ziehen Sie den Schlüssel ab und übergeben Sie ihn der Person.
done-next-person = Nächste Person
done-reveal-first = Zeigen Sie zuerst die PIN an.
done-pin-title = PIN für diesen Schlüssel
done-pin-hint = Übergeben Sie sie unter vier Augen; sie wird nicht noch einmal angezeigt.
done-pin-hidden = Der Schlüssel hat eine neue zufällige PIN.
done-pin-hidden-hint = Zeigen Sie sie nur der Person, der sie gehört.
done-reveal = PIN anzeigen
done-pin-typed = Die PIN wurde an der Station eingegeben: Die Person kennt sie bereits.
done-print-letter = Brief drucken
done-print-letter-again = Brief erneut drucken
done-printing = Der Brief wird gedruckt …
done-printed = Der Brief ist beim Drucker: Geben Sie ihn der Person gefaltet.
