"""What kind of data a column header or a key names: `dob`, `birthDate` and `Geburtsdatum` name a
date of birth, `PLZ` and `zip_code` a postcode, `mrn` a medical record number.

Keys are compared normalised (`normalise`: camelCase split, case and punctuation dropped), so
`date_of_birth`, `DateOfBirth` and `date-of-birth` are one key. A key that is not listed may still
end in a listed one (`patient_dob`, `billing_postcode`, `contactEmail`).

Some keys name personal data only in a record about a person: `name` is a product's name in a
package manifest, `city` a data centre's in a deployment file. Those are `GENERIC`: they count
only beside a key that names personal data for sure (see `structure.py`). `location` is not one
of them: in a staff roster or an asset list it is a site, not where someone lives.

A person's role joined to a word for name names a person (`holder_name`, `insured_name`,
`Kundenname`, `nombre_cliente`); a header joining two kinds (`DNI/NIE`) names either.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_FIELDS: dict[str, str] = {
    "PERSON": (
        "fullname firstname lastname givenname familyname surname forename middlename patientname customername "
        "clientname employeename contactname accountholder cardholder beneficiary nom prenom nomcomplet vorname "
        "nachname familienname nombre apellido apellidos nombrecompleto cognome nomecompleto voornaam achternaam "
        "naam imie nazwisko username nominativo intestatario policyholder insuredperson nextofkin "
        "emergencycontact spouse maidenname birthname geburtsname cognomeenome cognomenome naamenvoorletters "
        "voorletters "
        "kontoinhaber titulaireducompte intestatarioconto titulardelacuenta rekeninghouder"
    ),
    "DATE_OF_BIRTH": (
        "dob dateofbirth birthdate birthday birthdt geburtsdatum gebdatum geboren datenaissance datedenaissance "
        "fechanacimiento fechadenacimiento datadinascita datanascita datadenascimento geboortedatum "
        "dataurodzenia fodelsedatum fechanac fnac nacimiento datanasc nascita naissance gebdat birthyear"
    ),
    "MEDICAL_RECORD_NUMBER": (
        "mrn patientid patientnumber patientno medicalrecordnumber medicalrecord chartnumber chartno "
        "patientennummer patientenid ipp nhc numerohistoria historiaclinica nhi hospitalnumber hospitalno "
        "patientnr patientnummer cartellaclinica numerocartella dossierpatient ptid patid hospno uhid"
    ),
    "INSURANCE_ID": (
        "memberid membernumber memberno policynumber policyno policyid insuranceid insurancenumber insuranceno "
        "subscriberid versichertennummer versicherungsnummer polizza numeropolizza poliza numeropoliza "
        "polisnummer policyref policyreference versichertennr numeroassure numeroadherent tarjetasanitaria "
        "healthinsurancenumber numerodepolice"
    ),
    "CASE_NUMBER": (
        "claim claimid claimno claimnumber claimref claimreference caseid caseno casenumber caseref casereference "
        "docket docketno aktenzeichen fallnummer vorgangsnummer geschaftszeichen schadennummer schadennr "
        "dossier numerodossier dossiernummer sinistre numerosinistre expediente numeroexpediente siniestro "
        "numerosiniestro pratica numeropratica sinistro numerosinistro zaaknummer zaaknr"
    ),
    "ACCOUNT_NUMBER": (
        "accountno accountnumber accountnr acctno acctnumber customerid customerno customernumber clientid "
        "clientno kundennummer kundennr kontonummer kontonr sortcode routingnumber numerocompte numeroclient "
        "numerocuenta rekeningnummer klantnummer klantnr kundenid loyaltyid loyaltyno loyaltynumber loyaltycard "
        "membershipid membershipno membershipnumber rewardsid rewardsnumber frequentflyer frequentflyernumber "
        "mitgliedsnummer kundenkarte cartefidelite numerofidelite numerosocio codigocliente codicecliente "
        "numerotessera lidnummer lidmaatschapsnummer nclient noclient numerodecliente numerodesocio numerodadherent"
    ),
    "TAX_ID": (
        "taxid taxnumber tin ein vat vatid vatnumber steuerid steuernummer nif cif cpf cnpj codicefiscale "
        "partitaiva rfc utr"
    ),
    "US_SSN": "ssn socialsecuritynumber",
    "NATIONAL_ID": (
        "nationalid nino ninumber bsn dni nie personnummer pesel aadhaar idnumber idcard nationalidnumber "
        "personalausweis ausweisnummer nir numerosecu cedula curp rut numerodocumento documentoidentidad "
        "carteidentite cni sozialversicherungsnummer svnr ahv ahvnummer nss numeroseguridadsocial "
        "numerosecuritesociale ppsn sofinummer burgerservicenummer securitesociale numeroinsee sozialversicherungsnr "
        "cartedidentite cartadidentita identiteitskaart identiteitsbewijs"
    ),
    "PASSPORT_NUMBER": (
        "passport passportno passportnumber reisepass passnummer passeport pasaporte passaporto "
        "numeropassaporto paspoort paspoortnummer"
    ),
    "DRIVER_LICENSE": (
        "driverlicense driverslicense driverlicence driverslicence dlnumber fuhrerschein fuhrerscheinnummer "
        "permisdeconduire patente numeropatente carnetdeconducir rijbewijs rijbewijsnummer"
    ),
    "EMPLOYEE_ID": (
        "employeeid employeeno employeenumber empid empno staffid staffno persnr personalnummer "
        "personalnr mitarbeiternummer matricule matricola badgeid numeroempleado numerodeempleado personeelsnummer"
    ),
    "EMAIL_ADDRESS": "email emailaddress mail courriel correo correoelectronico posta",
    "PHONE_NUMBER": (
        "phone phonenumber phoneno tel telephone telefon telefoon telefono mobile mobil cell cellphone handy "
        "whatsapp fax portable movil celular cellulare telefonnummer handynummer gsm mobiel mobilenumber mobileno "
        "contactnumber telefoonnummer"
    ),
    "POSTCODE": (
        "zip zipcode postcode postalcode plz cp codepostal cap codigopostal postleitzahl eircode codicepostale "
        "postnummer postnr"
    ),
    "RESIDENCE": "hometown residence wohnort domicile domicilio woonplaats residenza residencia homecity",
    "STREET_ADDRESS": (
        "street streetaddress address addressline addressline1 addressline2 adresse anschrift strasse direccion "
        "indirizzo adres morada homeaddress shipto billto deliverto lieferadresse rue adressepostale hausnummer"
    ),
    "CREDIT_CARD": (
        "card cardnumber cardno cardnum cc ccnumber ccnum pan creditcard debitcard kartennummer numerocarte "
        "numerotarjeta tarjeta numerocarta kaartnummer"
    ),
    "IP_ADDRESS": "ip ipaddress clientip remoteip remoteaddr sourceip srcip",
    "IBAN_CODE": "iban",
    "PASSWORD": "password passwd pwd passphrase pass kennwort passwort motdepasse contrasena",
    "GENERIC_SECRET": (
        "secret token apikey apisecret accesstoken refreshtoken authtoken clientsecret secretkey privatekey "
        "sessionid sessiontoken sessionkey cookie sid bearer credentials"
    ),
}
# Keys that name personal data only in a record about a person (the bare role words too: `Kunde`,
# `Cliente`, `Klant` head a column of names, or of customer numbers).
_GENERIC: dict[str, str] = {
    "PERSON": (
        "name given family user login author owner contact customer patient employee tenant guest member holder "
        "recipient addressee first last coapplicant cosigner guarantor "
        "insured passenger student applicant kunde kundin klant client cliente paciente paziente patiente "
        "mitarbeiter mitarbeiterin medewerker werknemer empleado empleada dipendente salarie employe mieter "
        "inquilino locataire huurder titular titolare titulaire inhaber assure asegurado assicurato verzekerde "
        "versicherter"
    ),
    "RESIDENCE": (
        "city town ville stadt ort ciudad cidade citta plaats basedin region village localidad comune "
        "gemeente municipio localite localita"
    ),
}

FIELD_TYPES: dict[str, str] = {key: entity for entity, keys in _FIELDS.items() for key in keys.split()}
GENERIC: dict[str, str] = {key: entity for entity, keys in _GENERIC.items() for key in keys.split()}
ENTITIES: tuple[str, ...] = tuple(sorted(set(FIELD_TYPES.values()) | set(GENERIC.values())))
# A longer key ending in one of these names the same (`patient_dob`, `db_password`); shorter keys
# would match inside unrelated words ("protein" ends in "ein", "hotel" in "tel").
_SHORT_SUFFIXES = {"dob", "ssn", "zip", "mrn", "iban", "email", "phone", "token"}
_SUFFIXES = sorted((k for k in FIELD_TYPES if len(k) >= 6 or k in _SHORT_SUFFIXES), key=len, reverse=True)
NOT_PERSONAL = frozenset(
    {
        "macaddress", "emailtemplate", "phonemodel", "tokenizer", "tokens", "maxtokens", "localaddress",
        "foreignaddress", "peeraddress", "bindaddress", "listenaddress", "memoryaddress", "baseaddress",
    }
)  # fmt: skip
_NOT_PERSONAL_ENDINGS = tuple(NOT_PERSONAL)
# Words for a person's role: a key that joins one to a word for name (`holder_name`,
# `insured_name`, `Kundenname`, `nombre_cliente`) names a person.
_ROLES = frozenset(
    """holder policyholder cardholder accountholder insured driver passenger member patient customer client
    employee contact tenant guest student applicant candidate recipient sender beneficiary debtor borrower
    guarantor claimant mother father guardian person traveller traveler visitor
    resident witness victim defendant plaintiff suspect doctor physician nurse pupil participant
    attendee kunde kunden patienten mitarbeiter versicherten mieter schuldner antragsteller inhaber
    fahrer teilnehmer bewerber client titulaire assure locataire souscripteur beneficiaire demandeur
    conducteur adherent salarie employe cliente paciente empleado asegurado titular inquilino deudor
    solicitante conductor socio afiliado trabajador beneficiario tomador paziente dipendente assicurato
    intestatario titolare debitore richiedente conducente contraente klant medewerker werknemer
    verzekerde rekeninghouder huurder debiteur aanvrager bestuurder deelnemer""".split()
)
_NAME_SUFFIXES = ("name", "naam")
_NAME_PREFIXES = ("nombre", "nome", "nom", "naam")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise(key: str) -> str:
    """`birthDate`, `birth_date` and `Birth-Date` all become `birthdate`; accents are dropped."""
    spaced = _CAMEL.sub(" ", key.strip().replace("ß", "ss"))
    plain = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


@lru_cache(maxsize=4096)
def field_type(key: str) -> tuple[str, bool] | None:
    """(entity type, generic?) for a key or header, or None when it names nothing personal; a
    header joining two kinds (`DNI/NIE`, `Phone/Mobile`) names the kind of either part."""
    found = _plain_type(normalise(key))
    if found is None and "/" in key:
        for part in key.split("/"):
            found = found or _plain_type(normalise(part))
    return found


def _plain_type(plain: str) -> tuple[str, bool] | None:
    if not plain or len(plain) > 40 or plain.endswith(_NOT_PERSONAL_ENDINGS):
        return None
    if plain in FIELD_TYPES:
        return FIELD_TYPES[plain], False
    if plain in GENERIC:
        return GENERIC[plain], True
    for suffix in _SUFFIXES:
        if plain.endswith(suffix):
            return FIELD_TYPES[suffix], False
    return ("PERSON", False) if _role_name(plain) else None


def _role_name(plain: str) -> bool:
    """`holdername`, `kundenname`, `nomclient`: a person's role joined to a word for name."""
    for suffix in _NAME_SUFFIXES:
        if plain.endswith(suffix) and _ends_in_role(plain[: -len(suffix)]):
            return True
    return any(plain.startswith(prefix) and plain[len(prefix) :] in _ROLES for prefix in _NAME_PREFIXES)


def _ends_in_role(head: str) -> bool:
    """`policyholder`, `insured`, `primary_driver`: the head of a key ends in a role word."""
    return any(head.endswith(role) for role in _ROLES if len(role) <= len(head))
