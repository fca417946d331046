# The PIN letter (src/letters/). English.

letter-title = Your security key
letter-greeting = Dear { $name },
letter-intro = a security key has been set up for you to sign in to your work account without a password. Plug it in or hold it to the reader when asked, and type its PIN.
letter-name = Name
letter-account = Account
letter-serial = Key serial
letter-serial-none = not reported by the key
letter-date = Date
letter-change-heading = Change your PIN
letter-change-1 = The key may ask you to choose a new PIN the first time you use it: pick at least 6 digits nobody could guess.
letter-change-2 = Windows: Settings > Accounts > Sign-in options > Security key > Manage > Security key PIN > Change.
letter-change-3 = macOS or Linux: in Chrome or Edge, open Settings > Privacy and security > Security > Manage security keys > Create a PIN.
letter-change-4 = Then destroy this letter. Never keep the PIN with the key.
letter-help = Questions, or a lost key: { $sender }.
letter-help-none = Questions, or a lost key: your IT service desk.
letter-fold = Fold here, PIN inside
letter-pin-heading = PIN of your security key (confidential)
letter-pin-note = Keep this panel folded until you are alone. Do not share the PIN.
