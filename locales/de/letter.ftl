# Der PIN-Brief (src/letters/). Deutsch.

letter-title = Ihr Sicherheitsschlüssel
letter-greeting = Guten Tag { $name },
letter-intro = für Sie wurde ein Sicherheitsschlüssel eingerichtet, mit dem Sie sich ohne Passwort bei Ihrem Arbeitskonto anmelden. Stecken Sie ihn ein oder halten Sie ihn an das Lesegerät, wenn Sie dazu aufgefordert werden, und geben Sie seine PIN ein.
letter-name = Name
letter-account = Konto
letter-serial = Seriennummer
letter-serial-none = vom Schlüssel nicht gemeldet
letter-date = Datum
letter-change-heading = PIN ändern
letter-change-1 = Der Schlüssel kann Sie bei der ersten Anmeldung auffordern, eine neue PIN zu wählen: mindestens 6 Ziffern, die niemand erraten kann.
letter-change-2 = Windows: Einstellungen > Konten > Anmeldeoptionen > Sicherheitsschlüssel > Verwalten > PIN für Sicherheitsschlüssel > Ändern.
letter-change-3 = macOS oder Linux: in Chrome oder Edge Einstellungen > Datenschutz und Sicherheit > Sicherheit > Sicherheitsschlüssel verwalten > PIN erstellen.
letter-change-4 = Vernichten Sie danach diesen Brief. Bewahren Sie die PIN nie beim Schlüssel auf.
letter-help = Fragen, oder Schlüssel verloren: { $sender }.
letter-help-none = Fragen, oder Schlüssel verloren: Ihr IT-Service-Desk.
letter-fold = Hier falten, PIN innen
letter-pin-heading = PIN Ihres Sicherheitsschlüssels (vertraulich)
letter-pin-note = Falten Sie dieses Feld erst auf, wenn Sie allein sind. Geben Sie die PIN niemandem weiter.
