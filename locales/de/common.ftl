# Für alle Bildschirme: der Rahmen (Schlüsselzeile, Demo-Banner, Bedienerleiste), die
# Fehlerbox, gemeinsame Schaltflächen und wie ein Schlüssel oder eine Karte vorgelegt wird.

## Schaltflächen

retry = Erneut versuchen
cancel = Abbrechen
ok = OK
dismiss = Schließen

## Die Fehlerbox (Meldung und Abhilfe der Engine bleiben englisch)

what-to-do = Was zu tun ist: { $remedy }
error-code = Code: { $code }
graph-request-id = Graph-Request-ID:
with-request-id = { $message } (Request-ID { $id })

## Die Schlüsselzeile unten

no-key = Kein Schlüssel eingesteckt
key-line = Schlüssel: { $model }
key-line-serial = Schlüssel: { $model } · Seriennummer { $serial }
close-refused = Die Station wird nur über „Beenden“ (Bedienerleiste) geschlossen.

## Das Demo-Banner

demo-banner = Test-Mandant und Software-Schlüssel: Hier ist nichts echt.
demo-remove-key = Schlüssel entfernen
demo-insert-key = Neuen Schlüssel einstecken
demo-tap-card = Karte auflegen

## Die Bedienerleiste

nav-queue = Warteliste
nav-history = Verlauf
nav-reissue = Neu ausgeben
nav-exit = Beenden
nav-lock = Sperren
nav-operator = Bediener: { $operator }

## Anwesenheit: Ein USB-Schlüssel wird berührt und neu eingesteckt, eine Karte aufgelegt

presence-key-touch = Berühren Sie jetzt den Schlüssel
presence-key-touch-hint = Der Schlüssel blinkt: Berühren Sie einmal seinen Metallkontakt oder Knopf.
presence-key-reinsert = Ziehen Sie den Schlüssel ab, stecken Sie ihn wieder ein und berühren Sie ihn innerhalb von 10 Sekunden.
presence-key-reinsert-hint = Schlüssel lassen sich nur direkt nach dem Einstecken zurücksetzen.
presence-card-touch = Halten Sie die Karte an das Lesegerät
presence-card-touch-hint = Lassen Sie sie ruhig dort, bis die Station „fertig“ meldet.
presence-card-reinsert = Nehmen Sie die Karte vom Lesegerät, legen Sie sie wieder auf und lassen Sie sie dort
presence-card-reinsert-hint = Karten lassen sich nur direkt nach dem Auflegen zurücksetzen.
