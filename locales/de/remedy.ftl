# Was der Bediener bei einem Fehler tun soll (die Abhilfen der Engine, für den Kiosk formuliert:
# Sie nennen die Schaltflächen der Station).

remedy-retry = Tippen Sie auf „Erneut versuchen“: Die Station prüft zuerst, was schon registriert wurde
remedy-retry-later = Warten Sie eine Minute und tippen Sie dann auf „Erneut versuchen“
remedy-check-network = Prüfen Sie Netzwerkkabel oder WLAN der Station und tippen Sie dann auf „Erneut versuchen“
remedy-reinsert-key = Der Schlüssel wurde abgezogen oder antwortet nicht mehr: Stecken Sie ihn wieder ein und versuchen Sie es erneut; Erledigtes bleibt erhalten
remedy-replug-key = Ziehen Sie den Schlüssel ab, stecken Sie ihn wieder ein und tippen Sie auf „Erneut versuchen“
remedy-reinsert-and-reset = Ziehen Sie den Schlüssel ab, stecken Sie ihn wieder ein und verwenden Sie innerhalb von 10 Sekunden „Neu ausgeben“
remedy-reset-key = Setzen Sie ihn mit „Neu ausgeben“ zurück (das löscht seine Passkeys und die PIN) und statten Sie die Person erneut aus; oder verwenden Sie einen anderen Schlüssel
remedy-pin-already-set = Der Schlüssel hat bereits eine PIN: Geben Sie sie ein, wenn danach gefragt wird, oder setzen Sie ihn mit „Neu ausgeben“ zurück
remedy-change-pin = Der Schlüssel verlangt zuerst eine PIN-Änderung: Setzen Sie ihn mit „Neu ausgeben“ zurück oder verwenden Sie einen anderen Schlüssel
remedy-check-pin = Prüfen Sie die PIN mit der Person und versuchen Sie es erneut
remedy-pin-rules = Wählen Sie eine PIN, die den Regeln des Schlüssels entspricht
remedy-key-refuses-random-pins = Die PIN-Regeln dieses Schlüssels lehnten jede von der Station erzeugte PIN ab: Verwenden Sie einen anderen Schlüssel; lehnen Schlüssel dieses Modells weiter ab, informieren Sie die Administration
remedy-provide-pin = Geben Sie die PIN des Schlüssels ein, wenn die Station danach fragt
remedy-reset-over-usb = Diese Karte lässt sich auf dem Lesegerät nicht zurücksetzen: Setzen Sie sie über USB (falls vorhanden) oder mit dem Werkzeug des Herstellers zurück und bringen Sie sie dann wieder
remedy-touch-key = Tippen Sie auf „Erneut versuchen“ und berühren Sie den Schlüssel, wenn er blinkt
remedy-use-another-key = Ziehen Sie ihn ab und verwenden Sie einen anderen Schlüssel
remedy-use-another-key-model = Verwenden Sie ein anderes Schlüsselmodell
remedy-already-registered = Dieser Schlüssel enthält bereits einen Passkey dieser Person: Verwenden Sie einen anderen Schlüssel
remedy-retry-or-another-key = Tippen Sie auf „Erneut versuchen“; passiert es wieder, verwenden Sie einen anderen Schlüssel
remedy-start-again = Beginnen Sie neu, sobald Sie bereit sind
remedy-check-journal = Informieren Sie die Administration: Das Journal der Station kann nicht geschrieben werden (Speicherplatz, Berechtigungen)
remedy-refresh-queue = Aktualisieren Sie die Warteliste aus der Gruppe und wählen Sie die Person erneut
remedy-refresh-queue-again = Aktualisieren Sie die Warteliste erneut; schlägt es wieder fehl, informieren Sie die Administration (Netzwerk, Konfiguration)
remedy-sign-in-again = Melden Sie sich erneut an und tippen Sie dann auf „Erneut versuchen“
remedy-another-operator = Ein anderer Bediener muss diese Person ausstatten: Administratoren können sich nicht selbst einen Schlüssel ausgeben
remedy-check-configuration = Informieren Sie die Administration: Die Konfiguration der Station (Mandant, Client-ID, Cloud) muss geprüft werden
# $action: was die Administration tun soll, wie die Engine es formuliert (englisch).
remedy-administrator = Wenden Sie sich an die Administration des Mandanten: { $action }
remedy-restart-station = Starten Sie die Station neu
# $key: „key serial 123“ oder „the key“, wie die Engine es formuliert.
remedy-apply-pin-policy = Geben Sie { $key } einer Administratorin oder einem Administrator, um die PIN-Richtlinie anzuwenden, bevor er ausgegeben wird
remedy-finish-enrollment = Stecken Sie { $key } wieder ein und statten Sie { $upn } erneut aus der Warteliste aus
