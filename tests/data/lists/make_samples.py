"""Writes the list samples of tests/data/lists/ (run: python make_samples.py).

Each sample is bytes exactly as a spreadsheet or an editor would save it; their expected
summaries and errors are in expected.json, written by hand.
"""

from __future__ import annotations

import codecs
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def lines(rows: list[str], eol: str = "\r\n") -> str:
    return "".join(row + eol for row in rows)


def main() -> None:
    # LibreOffice "UTF-8 with BOM", comma, LF.
    write(
        "utf8_bom_comma.csv",
        codecs.BOM_UTF8
        + lines(
            [
                "E-mail,Prénom,Nom,Code postal",
                "zoe@example.fr,Zoé,Lefèvre,25000",
                "gaelle@example.fr,Gaëlle,Noël,39100",
            ],
            "\n",
        ).encode("utf-8"),
    )
    # UTF-8 without BOM, tab-delimited, "Courriel".
    write(
        "utf8_tab.csv",
        lines(
            [
                "Courriel\tPrénom\tNom\tVille",
                "helene@example.fr\tHélène\tDubois\tBesançon",
                "jerome@example.fr\tJérôme\tThomas\tOrléans",
            ]
        ).encode("utf-8"),
    )
    # French Excel: cp1252, semicolon, CRLF, "Adresse e-mail".
    write(
        "cp1252_semicolon.csv",
        lines(
            [
                "Nom;Prénom;Adresse e-mail;Ville;Adhésion",
                "Martin;Élodie;elodie@example.fr;Besançon;à jour",
                "Bernard;François;francois@example.fr;Orléans;en retard",
                "Dubois;Cécile;cecile@example.fr;Nîmes;réglée – merci",
            ]
        ).encode("cp1252"),
    )
    # Excel "Unicode text": UTF-16 LE with BOM, tab.
    write(
        "utf16_le_tab.csv",
        codecs.BOM_UTF16_LE
        + lines(
            [
                "Adresse électronique\tPrénom\tNom",
                "noel@example.fr\tNoël\tLeroy",
                "maelle@example.fr\tMaëlle\tLaurent",
            ]
        ).encode("utf-16-le"),
    )
    write(
        "utf16_be_semicolon.csv",
        codecs.BOM_UTF16_BE + lines(["Mail;Prénom", "loic@example.fr;Loïc"]).encode("utf-16-be"),
    )
    # A quoted field holding a newline: the next rows keep their physical line numbers.
    write(
        "quoted_newline.csv",
        lines(
            [
                "email,prenom,nom,adresse postale",
                'anne@example.fr,Anne,Roux,"12 rue des Granges',
                '25000 Besançon"',
                "bad.example.fr,Paul,Petit,",
                'luc@example.fr,Luc,"Le ""Grand"" Martin",',
            ]
        ).encode("utf-8"),
    )
    # UTF-8 (accents on lines 2 and 3) with one invalid byte on line 4.
    write(
        "invalid_utf8_line4.csv",
        lines(["email;prénom", "a@example.fr;Zoé", "b@example.fr;Hélène"]).encode("utf-8")
        + b"c@example.fr;Ren\xff\r\n"
        + b"d@example.fr;Luc\r\n",
    )
    # cp1252 with 0x81 (undefined in cp1252) on line 3.
    write(
        "invalid_cp1252_line3.csv",
        lines(["email;prénom", "a@example.fr;Zoé"]).encode("cp1252")
        + b"b@example.fr;H\x81l\xe8ne\r\n",
    )
    # UTF-16 with a lone surrogate on line 3.
    write(
        "invalid_utf16_line3.csv",
        codecs.BOM_UTF16_LE
        + lines(["email\tprénom", "a@example.fr\tZoé"]).encode("utf-16-le")
        + "b@example.fr\tX".encode("utf-16-le")
        + b"\x00\xd8"
        + "\r\n".encode("utf-16-le"),
    )
    write(
        "empty_address.csv",
        lines(
            [
                "Nom;Prénom;Email",
                "Roux;Gérard;",
                "Vincent;Mélanie;   ",
                "Simon;André;andre@example.fr",
                ";;",
                "",
            ]
        ).encode("utf-8"),
    )
    write(
        "invalid_address.csv",
        lines(
            [
                "email,nom",
                "stephane.fournier.example.fr,Fournier",
                "jean..dupont@example.fr,Dupont",
                "marie@example,Marie",
                "paul@exa mple.fr,Paul",
                "ok@example.fr,Ok",
            ]
        ).encode("utf-8"),
    )
    write(
        "duplicate.csv",
        lines(
            [
                "Adresse mail;Prénom",
                "elodie@example.fr;Élodie",
                "luc@example.fr;Luc",
                " Elodie@EXAMPLE.fr ;Élodie bis",
                "<luc@example.fr>;Luc ter",
            ]
        ).encode("utf-8"),
    )
    write(
        "missing_address_column.csv",
        lines(["Nom;Prénom;Téléphone", "Martin;Élodie;0601020304"]).encode("cp1252"),
    )
    write(
        "too_many_cells.csv",
        lines(
            [
                "email;prénom;nom",
                "a@example.fr;Zoé;Robert",
                "b@example.fr;Jean;Dupont;Paris",
            ]
        ).encode("utf-8"),
    )
    write(
        "short_and_trailing.csv",
        lines(
            [
                "email;prénom;nom;ville",
                "a@example.fr;Zoé",
                "b@example.fr;Jean;Dupont;Paris;;",
            ]
        ).encode("utf-8"),
    )
    write(
        "formula_values.csv",
        lines(
            [
                "email,prénom,téléphone,site",
                'f@example.fr,=HYPERLINK("https://evil.example"),+33 6 12 34 56 78,@SUM(A1:A2)',
                "g@example.fr,-2+3,=1+1,",
            ]
        ).encode("utf-8"),
    )
    write(
        "crlf_in_name.csv",
        lines(
            [
                "email,prénom,nom",
                'x@example.fr,"Jean\r\nBcc: victim@evil.example","Dupont\nX-Injected: yes"',
            ]
        ).encode("utf-8"),
    )
    write(
        "plain_addresses.txt",
        lines(
            ["zoe@example.fr", "", "  Luc@Example.fr ", "not-an-address", "zoe@example.fr"], "\n"
        ).encode("utf-8"),
    )
    # Address cells as mail programs export them, or as pasted hyperlinks.
    write(
        "wrapped_addresses.csv",
        lines(
            [
                "Nom,Courriel",
                'Dupont,"Jean Dupont <Jean.Dupont@example.fr>"',
                "Robert,mailto:zoe@example.fr",
                "Petit,MAILTO:loic@example.fr?subject=Adh%C3%A9sion",
                "Roux,<gerard@example.fr>",
                'Vide,"Personne <>"',
            ]
        ).encode("utf-8"),
    )
    write("empty.csv", b"")


if __name__ == "__main__":
    main()
