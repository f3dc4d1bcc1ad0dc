"""What kind of data a column header or a key names: `dob`, `birthDate` and `Geburtsdatum` name a
date of birth, `PLZ` and `zip_code` a postcode, `mrn` a medical record number.

Keys are compared normalised (`normalise`: camelCase split, case and punctuation dropped), so
`date_of_birth`, `DateOfBirth` and `date-of-birth` are one key. A key that is not listed may still
end in a listed one (`patient_dob`, `billing_postcode`, `contactEmail`).

Some keys name personal data only in a record about a person: `name` is a product's name in a
package manifest, `city` a data centre's in a deployment file. Those are `GENERIC`: they count
only beside a key that names personal data for sure (see `structure.py`).
"""

from __future__ import annotations

import re
import unicodedata

_FIELDS: dict[str, str] = {
    "PERSON": (
        "fullname firstname lastname givenname familyname surname forename middlename patientname customername "
        "clientname employeename contactname accountholder cardholder beneficiary nom prenom nomcomplet vorname "
        "nachname familienname nombre apellido apellidos nombrecompleto cognome nomecompleto voornaam achternaam "
        "naam imie nazwisko username"
    ),
    "DATE_OF_BIRTH": (
        "dob dateofbirth birthdate birthday birthdt geburtsdatum gebdatum geboren datenaissance datedenaissance "
        "fechanacimiento fechadenacimiento datadinascita datanascita datadenascimento geboortedatum "
        "dataurodzenia fodelsedatum"
    ),
    "MEDICAL_RECORD_NUMBER": (
        "mrn patientid patientnumber patientno medicalrecordnumber medicalrecord chartnumber chartno "
        "patientennummer patientenid ipp nhc numerohistoria"
    ),
    "INSURANCE_ID": (
        "memberid membernumber memberno policynumber policyno policyid insuranceid insurancenumber insuranceno "
        "subscriberid versichertennummer versicherungsnummer polizza numeropolizza poliza numeropoliza "
        "polisnummer"
    ),
    "CASE_NUMBER": "claimid claimno claimnumber caseid caseno casenumber docket docketno aktenzeichen",
    "ACCOUNT_NUMBER": (
        "accountno accountnumber accountnr acctno acctnumber customerid customerno customernumber clientid "
        "clientno kundennummer kundennr kontonummer kontonr sortcode routingnumber numerocompte numeroclient "
        "numerocuenta rekeningnummer klantnummer"
    ),
    "TAX_ID": (
        "taxid taxnumber tin ein vat vatid vatnumber steuerid steuernummer nif cif cpf cnpj codicefiscale "
        "partitaiva rfc utr"
    ),
    "US_SSN": "ssn socialsecuritynumber",
    "NATIONAL_ID": (
        "nationalid nino ninumber bsn dni nie personnummer pesel aadhaar idnumber idcard nationalidnumber "
        "personalausweis ausweisnummer nir numerosecu"
    ),
    "PASSPORT_NUMBER": "passport passportno passportnumber reisepass passnummer passeport pasaporte",
    "DRIVER_LICENSE": "driverlicense driverslicense driverlicence driverslicence dlnumber fuhrerschein",
    "EMPLOYEE_ID": (
        "employeeid employeeno employeenumber empid empno staffid staffno persnr personalnummer "
        "personalnr mitarbeiternummer matricule matricola badgeid"
    ),
    "EMAIL_ADDRESS": "email emailaddress mail courriel correo correoelectronico posta",
    "PHONE_NUMBER": (
        "phone phonenumber phoneno tel telephone telefon telefoon telefono mobile mobil cell cellphone handy "
        "whatsapp fax portable movil celular cellulare"
    ),
    "POSTCODE": "zip zipcode postcode postalcode plz cp codepostal cap codigopostal postcode postleitzahl eircode",
    "RESIDENCE": "hometown residence wohnort domicile domicilio woonplaats",
    "STREET_ADDRESS": (
        "street streetaddress address addressline addressline1 addressline2 adresse anschrift strasse direccion "
        "indirizzo adres morada homeaddress"
    ),
    "IP_ADDRESS": "ip ipaddress clientip remoteip remoteaddr sourceip srcip",
    "IBAN_CODE": "iban",
    "PASSWORD": "password passwd pwd passphrase pass kennwort passwort motdepasse contrasena",
    "GENERIC_SECRET": (
        "secret token apikey apisecret accesstoken refreshtoken authtoken clientsecret secretkey privatekey "
        "sessionid sessiontoken sessionkey cookie sid bearer credentials"
    ),
}
# Keys that name personal data only in a record about a person.
_GENERIC: dict[str, str] = {
    "PERSON": "name given family user login author owner contact customer patient employee tenant guest",
    "RESIDENCE": "city town ville stadt ort ciudad cidade citta plaats location basedin region",
}

FIELD_TYPES: dict[str, str] = {key: entity for entity, keys in _FIELDS.items() for key in keys.split()}
GENERIC: dict[str, str] = {key: entity for entity, keys in _GENERIC.items() for key in keys.split()}
ENTITIES: tuple[str, ...] = tuple(sorted(set(FIELD_TYPES.values()) | set(GENERIC.values())))
# A longer key ending in one of these names the same (`patient_dob`, `db_password`); shorter keys
# would match inside unrelated words ("protein" ends in "ein", "hotel" in "tel").
_SHORT_SUFFIXES = {"dob", "ssn", "zip", "mrn", "iban", "email", "phone", "token"}
_SUFFIXES = sorted((k for k in FIELD_TYPES if len(k) >= 6 or k in _SHORT_SUFFIXES), key=len, reverse=True)
NOT_PERSONAL = frozenset({"macaddress", "emailtemplate", "phonemodel", "tokenizer", "tokens", "maxtokens"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise(key: str) -> str:
    """`birthDate`, `birth_date` and `Birth-Date` all become `birthdate`; accents are dropped."""
    spaced = _CAMEL.sub(" ", key.strip())
    plain = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def field_type(key: str) -> tuple[str, bool] | None:
    """(entity type, generic?) for a key or header, or None when it names nothing personal."""
    plain = normalise(key)
    if not plain or len(plain) > 40 or plain in NOT_PERSONAL:
        return None
    if plain in FIELD_TYPES:
        return FIELD_TYPES[plain], False
    if plain in GENERIC:
        return GENERIC[plain], True
    for suffix in _SUFFIXES:
        if plain.endswith(suffix):
            return FIELD_TYPES[suffix], False
    return None
