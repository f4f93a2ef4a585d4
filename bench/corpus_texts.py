"""The true text of the documents that the benchmark corpus generates (bench/corpus.py).

Written for the project (fictional programme, invented figures): extraction is compared with
these words, and golden questions quote them. Each document is a list of blocks:
("h", title) for a heading, ("p", text) for a paragraph, ("t", rows) for a table.
"""

from __future__ import annotations

Block = tuple[str, object]

REPORT_TITLE = "Rapport d'activité 2024 du programme Mékong Santé"
REPORT_HEADER = "Programme Mékong Santé · Rapport d'activité 2024"

REPORT: list[Block] = [
    ("h", REPORT_TITLE),
    (
        "p",
        "Le programme Mékong Santé réunit depuis 2019 quatre centres hospitaliers français et six hôpitaux "
        "provinciaux du Laos et du Cambodge. Il est financé par l'Agence de coopération hospitalière "
        "régionale à hauteur de 2,4 millions d'euros pour la période 2022-2025. Ce rapport présente les "
        "activités de l'année 2024, les difficultés rencontrées et les priorités de l'année suivante.",
    ),
    ("h", "1. Gouvernance du programme"),
    (
        "p",
        "Le comité de pilotage s'est réuni trois fois en 2024, à Vientiane en février, à Phnom Penh en juin "
        "et à Lyon en novembre. Il est présidé par la docteure Marguerite Vannier, cheffe du service des "
        "urgences du centre hospitalier de Valence. Le secrétariat est assuré par une coordinatrice basée à "
        "Vientiane, recrutée en mars 2023.",
    ),
    (
        "p",
        "Chaque hôpital partenaire désigne un référent médical et un référent infirmier. Les conventions "
        "de jumelage sont renouvelées tous les trois ans ; la prochaine échéance est fixée au 30 juin 2025.",
    ),
    ("h", "2. Formation des équipes soignantes"),
    (
        "p",
        "En 2024, 46 infirmières et infirmiers laotiens et cambodgiens ont suivi le module de soins "
        "critiques, d'une durée de six semaines, dont quatre semaines de stage pratique dans un service "
        "de réanimation. Le taux de réussite à l'évaluation finale atteint 91 %. Douze médecins ont "
        "effectué un séjour de perfectionnement de trois mois en France, principalement en anesthésie "
        "et en néonatologie.",
    ),
    (
        "p",
        "La formation à distance s'est développée : 28 webinaires mensuels ont réuni en moyenne 85 "
        "participants. Les supports sont traduits en lao et en khmer par des interprètes médicaux "
        "formés par le programme.",
    ),
    ("h", "3. Équipements et maintenance biomédicale"),
    (
        "p",
        "Le programme a livré 14 respirateurs de transport et 9 moniteurs multiparamétriques. Un "
        "technicien biomédical de l'hôpital de Savannakhet a été formé pendant deux mois à Grenoble ; "
        "il assure désormais la maintenance préventive des équipements de trois provinces. La durée "
        "moyenne d'immobilisation d'un appareil en panne est passée de 41 jours à 12 jours.",
    ),
    (
        "t",
        [
            ["Indicateur", "2023", "2024"],
            ["Soignants formés", "38", "46"],
            ["Respirateurs livrés", "6", "14"],
            ["Jours d'immobilisation d'un appareil", "41", "12"],
            ["Budget engagé (k€)", "540", "610"],
        ],
    ),
    ("h", "4. Difficultés rencontrées"),
    (
        "p",
        "Les délais de dédouanement du matériel médical restent longs : sept semaines en moyenne à la "
        "frontière de Thakhek. La rotation rapide du personnel dans deux hôpitaux provinciaux a obligé à "
        "répéter certaines sessions de formation. Enfin, la hausse du coût des billets d'avion a réduit "
        "de 15 % le nombre de missions d'experts français.",
    ),
    ("h", "5. Priorités pour 2025"),
    (
        "p",
        "Le comité de pilotage a retenu trois priorités : ouvrir une unité de néonatologie de huit lits "
        "à l'hôpital provincial de Kampong Cham, créer un registre commun des infections nosocomiales, "
        "et confier aux référents infirmiers l'animation de la moitié des webinaires. Le budget prévu "
        "pour 2025 s'élève à 680 000 euros.",
    ),
    (
        "p",
        "La docteure Vannier quittera la présidence du comité en décembre 2025 ; son successeur sera élu "
        "par les directeurs des hôpitaux partenaires lors de la réunion de novembre.",
    ),
]

NOTE_TITLE = "Note de cadrage : télémédecine en dermatologie"

NOTE: list[Block] = [
    ("h", NOTE_TITLE),
    (
        "p",
        "Cette note propose un service de téléexpertise en dermatologie entre le centre hospitalier "
        "universitaire de Bordeaux et trois hôpitaux de district du Sénégal : Kolda, Sédhiou et "
        "Ziguinchor. Les médecins sénégalais photographient les lésions avec un téléphone et envoient "
        "le dossier par une plateforme sécurisée hébergée par un hébergeur agréé de données de santé.",
    ),
    ("h", "Objectifs"),
    (
        "p",
        "L'objectif est de rendre un avis spécialisé en moins de 72 heures pour 90 % des demandes. La "
        "première année, le service doit traiter 600 dossiers. Les cas de lèpre et d'ulcère de Buruli font "
        "l'objet d'un circuit prioritaire avec une réponse sous 24 heures.",
    ),
    ("h", "Moyens"),
    (
        "p",
        "Deux dermatologues bordelais consacrent chacun une demi-journée par semaine aux avis. Chaque "
        "hôpital de district reçoit un dermatoscope connecté et une formation de deux jours. Le coût de la "
        "première année est estimé à 118 000 euros, dont 40 % pour le temps médical.",
    ),
    ("h", "Évaluation"),
    (
        "p",
        "Un comité de suivi examinera tous les six mois le délai de réponse, la part des patients orientés "
        "vers Dakar et la satisfaction des médecins demandeurs. L'anonymisation des photographies est "
        "obligatoire avant tout usage pédagogique.",
    ),
]

# Slides: (title, bullet lines, speaker notes)
SLIDES_TITLE = "Comité de pilotage du jumelage Hué – Rouen"

SLIDES: list[tuple[str, list[str], str]] = [
    (
        SLIDES_TITLE,
        ["Réunion du 14 mars 2024", "Hôpital central de Hué"],
        "Accueil par le directeur de l'hôpital central de Hué.",
    ),
    (
        "Bilan des échanges",
        ["17 soignants vietnamiens accueillis à Rouen", "5 missions d'experts rouennais à Hué", "Taux de satisfaction : 94 %"],
        "Les stages ont surtout porté sur la chirurgie pédiatrique.",
    ),
    (
        "Budget du jumelage",
        ["Budget annuel : 210 000 euros", "Part du ministère vietnamien : 35 %", "Reliquat 2023 reporté : 18 000 euros"],
        "Le reliquat servira à acheter un échographe portable.",
    ),
    (
        "Calendrier 2024-2025",
        [
            "Septembre 2024 : séminaire de pédiatrie",
            "Janvier 2025 : audit d'hygiène",
            "Juin 2025 : renouvellement de la convention",
        ],
        "L'audit d'hygiène sera conduit par l'équipe opérationnelle d'hygiène de Rouen.",
    ),
    (
        "Décisions",
        ["Créer une consultation commune de cardiologie pédiatrique", "Désigner un référent qualité à Hué"],
        "Décisions adoptées à l'unanimité des membres présents.",
    ),
]

SCAN_TITLE = "Compte rendu de mission à Mopti"

SCAN: list[str] = [
    SCAN_TITLE,
    "",
    "Du 3 au 9 octobre 2024, une équipe de quatre",
    "sages-femmes de Montpellier a séjourné à l'hôpital",
    "de Mopti, au Mali. Elle a formé 22 sages-femmes",
    "maliennes à la réanimation du nouveau-né et remis",
    "six ballons d'insufflation. La mission recommande",
    "de créer une salle de simulation avant la fin de",
    "l'année 2025 et d'envoyer une seconde équipe.",
]


def blocks_text(blocks: list[Block]) -> str:
    """The true text of a generated document: headings, paragraphs, table rows (cells joined by spaces)."""
    lines: list[str] = []
    for kind, value in blocks:
        if kind == "t":
            assert isinstance(value, list)
            lines += [" ".join(row) for row in value]
        else:
            lines.append(str(value))
    return "\n\n".join(lines)


def slides_text() -> str:
    parts = []
    for title, bullets, notes in SLIDES:
        parts.append("\n".join([title, *bullets, notes]))
    return "\n\n".join(parts)


def scan_text() -> str:
    return "\n".join(SCAN)
