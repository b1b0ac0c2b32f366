"""Writes tests/fixtures/questions.json (source of truth for the question set)."""
import json, os

E = "Je suis enseignant·e"
R = "Je suis référent·e PIX"
D = "Je fais partie de la direction"

Q = []
def q(inp, exp, cat, hist=None, acc=None):
    d = {"input": inp}
    if hist: d["history"] = hist
    d["expected"] = exp
    if acc: d["acceptable"] = acc
    d["category"] = cat
    Q.append(d)

# ---------------------------------------------------------------- menu-number
q("1", "Menu enseignant", "menu-number", [])
q("4", "Créer une campagne pas à pas", "menu-number", ["1"])
q("2", "Le rôle de l'enseignant avec PIX", "menu-number", [E])
q("8", "Élève non certifiable", "menu-number", [E])
q("13", "INITIAL", "menu-number", [E])
q("3", "Importer la base élèves", "menu-number", ["2"])
q("1", "Calendrier du référent PIX", "menu-number", [R])
q("4", "Période 4 : première collecte", "menu-number", [R, "1"])
q("1", "Activer l'espace Pix Orga", "menu-number", ["3"])
q("10", "Importer les résultats dans LSU ou LSL", "menu-number", [D])
q("2", "Surveiller une session de certification", "menu-number", ["4"])
q("6", "Menu certification", "menu-number", ["5"])
q("7", "Finaliser une session de certification", "menu-number", ["5", "6"])
q("4", "Fichier SIECLE introuvable", "menu-number", ["5", "8"])
q("5", "Tous les sujets PIX", "menu-number", [])
q("3", "Accéder à Pix Orga", "menu-number", [E])

# ---------------------------------------------------------------- role
q("je suis prof de maths", "Menu enseignant", "role")
q("Je suis la principale adjointe", "Menu direction", "role", acc=["Choisir mon profil"])
q("bonjour je suis CPE", "Menu autre personnel", "role", acc=["Choisir mon profil"])
q("je suis référente pix cette année", "Menu référent PIX", "role")
q("je suis AED", "Menu autre personnel", "role")
q("je suis documentaliste au CDI", "Menu autre personnel", "role")
q("je suis chef d'établissement", "Menu direction", "role")
q("Je suis enseignante", "Menu enseignant", "role")

# ---------------------------------------------------------------- pix-orga
q("comment j'accède à pix orga ?", "Accéder à Pix Orga", "pix-orga", acc=["Demander une invitation à Pix Orga"])
q("pix orga", "Menu Pix Orga", "pix-orga", acc=["Accéder à Pix Orga"])
q("je veux un accès à pixorga", "Accéder à Pix Orga", "pix-orga", acc=["Demander une invitation à Pix Orga"])
q("comment activer pix orga pour le college", "Activer l'espace Pix Orga", "pix-orga")
q("je suis la nouvelle principale, comment je récupère l'espace pix orga ?", "Nouveau chef d'établissement", "pix-orga", acc=["Activer l'espace Pix Orga"])
q("comment inviter les profs sur pix orga", "Inviter des membres dans Pix Orga", "pix-orga")
q("on peut inviter plusieurs collègues d'un coup ?", "Inviter des membres dans Pix Orga", "pix-orga")
q("comment je passe le référent en administrateur", "Rôles administrateur et membre", "pix-orga")
q("difference entre admin et membre", "Rôles administrateur et membre", "pix-orga")
q("supprimer un prof qui a quitté le collège de pix orga", "Rôles administrateur et membre", "pix-orga")
q("j'enseigne dans 2 colleges comment je change d'etablissement sur pix orga", "Changer d'espace Pix Orga", "pix-orga")
q("il faut un autre compte pour pix certif ?", "Un compte pour Pix, Pix Orga et Pix Certif", "pix-orga", acc=["Accéder à Pix Certif"])
q("peux tu m’inviter sur pix orga stp", "Demander une invitation à Pix Orga", "pix-orga", acc=["Accéder à Pix Orga"])
q("c'est quoi l'adresse de pix orga", "Accéder à Pix Orga", "pix-orga")
q("orga.pix.fr", "Accéder à Pix Orga", "pix-orga")
q("comment devenir administrateur de pix orga", "Activer l'espace Pix Orga", "pix-orga", acc=["Rôles administrateur et membre"])
q("comment demander une invitation a pix orga", "Demander une invitation à Pix Orga", "pix-orga")
q("formulaire d'activation pix orga", "Activer l'espace Pix Orga", "pix-orga")

# ---------------------------------------------------------------- import
q("comment importer la base élèves", "Importer la base élèves", "import")
q("import siecle", "Importer la base élèves", "import", acc=["Exporter la base depuis SIECLE"])
q("ou je trouve le fichier xml dans siecle ?", "Exporter la base depuis SIECLE", "import", acc=["Fichier SIECLE introuvable"])
q("export eleves sans adresse", "Exporter la base depuis SIECLE", "import")
q("on a un nouvel élève arrivé hier, il n'est pas dans pix orga", "Réimporter à chaque arrivée ou départ", "import", acc=["Compte élève non lié à l'établissement"])
q("un eleve a changé de classe", "Réimporter à chaque arrivée ou départ", "import")
q("pourquoi certains élèves n'ont pas été importés", "Élèves sans INE", "import", acc=["Importer la base élèves"])
q("fregata", "Export depuis Fregata", "import")
q("faut il sauvegarder les résultats de l'an dernier avant l'import ?", "Sauvegarder les résultats de l'an dernier", "import")
q("les anciens élèves sont supprimés quand je réimporte ?", "Réimporter à chaque arrivée ou départ", "import")
q("base eleves", "Menu import de la base", "import", acc=["Importer la base élèves"])
q("élève sans numéro INE", "Élèves sans INE", "import")

# ---------------------------------------------------------------- campagne
q("comment créer une campagne", "Créer une campagne pas à pas", "campagne")
q("cree une campagne pix", "Créer une campagne pas à pas", "campagne")
q("campagne", "Menu campagnes", "campagne")
q("le parcours de rentrée c'est à faire avant quand ?", "Parcours de rentrée", "campagne")
q("les campagnes de rentree c pour quels niveaux", "Parcours de rentrée", "campagne")
q("attestation 6eme c obligatoire ?", "Attestation numérique en 6e", "campagne")
q("c'est quoi l'envoi multiple", "Envoi multiple des résultats", "campagne")
q("un élève peut refaire le parcours ?", "Envoi multiple des résultats", "campagne")
q("où je trouve le code de ma campagne", "Trouver et partager le code campagne", "campagne")
q("code parcours", "Trouver et partager le code campagne", "campagne")
q("les eleves rentrent le code par le mediacentre ?", "Connexion des élèves : GAR ou pix.fr", "campagne")
q("un mot pour informer les parents", "Message aux parents", "campagne")
q("comment voir qui a fini le parcours", "Suivre l'onglet Activité", "campagne")
q("ça veut dire quoi en attente d'envoi", "Suivre l'onglet Activité", "campagne")
q("mes élèves sont à 35 % c'est grave ?", "Niveaux de maîtrise et accompagnement", "campagne")
q("maitrise fragile", "Niveaux de maîtrise et accompagnement", "campagne")
q("ou voir les compétences les moins réussies", "Onglet Analyse", "campagne")
q("un parcours pour ma discipline en histoire geo", "Parcours disciplinaires et thématiques", "campagne")
q("je veux voir ce qu’il y a dans le parcours avant de le lancer", "Voir le contenu d'un parcours", "campagne")
q("comment changer le titre de ma campagne", "Nom et titre de la campagne", "campagne")
q("filtre paliers", "Onglet Résultats et paliers", "campagne")
q("ressources eduscol pour travailler le numerique", "Ressources pour l'accompagnement", "campagne")
q("Bonjour, j'ai créé ma campagne mais je ne sais pas comment suivre l'avancement de mes élèves de 5e, vous pouvez m'aider ?", "Suivre l'onglet Activité", "campagne")
q("catalogue des parcours", "Voir le contenu d'un parcours", "campagne", acc=["Parcours disciplinaires et thématiques"])

# ---------------------------------------------------------------- collecte
q("campagne de collecte de profils c'est quoi", "Campagne de collecte de profils", "collecte")
q("quand faire la collecte des profils ?", "Campagne de collecte de profils", "collecte")
q("comment créer une collecte de profils", "Créer une campagne de collecte", "collecte")
q("l'élève a mis le code mais n'a rien envoyé", "Envoyer son profil", "collecte", acc=["Lire le fichier exporté de la collecte"])
q("dans le fichier csv de la collecte il y a des NA", "Lire le fichier exporté de la collecte", "collecte")
q("un élève apparait 3 fois dans l'export de la collecte", "Lire le fichier exporté de la collecte", "collecte")
q("où je vois les profils reçus", "Suivre la collecte dans Pix Orga", "collecte")
q("collecte", "Menu collecte et certificabilité", "collecte", acc=["Campagne de collecte de profils"])
q("faut il un nouveau code pour la deuxième collecte ?", "Campagne de collecte de profils", "collecte", acc=["Créer une campagne de collecte", "Envoi multiple des résultats"])
q("colecte de profil", "Campagne de collecte de profils", "collecte", acc=["Menu collecte et certificabilité"])

# ---------------------------------------------------------------- certifiabilite
q("c'est quoi être certifiable", "Être certifiable", "certifiabilite")
q("combien de compétences pour etre certifiable", "Être certifiable", "certifiabilite")
q("un élève n'est pas certifiable, que faire ?", "Élève non certifiable", "certifiabilite")
q("eleve pas certifiable", "Élève non certifiable", "certifiabilite")
q("campagne sos", "Campagne SOS", "certifiabilite")
q("comment savoir quels élèves de 3e sont certifiables", "Vérifier la certificabilité", "certifiabilite")
q("statut non communiqué ça veut dire quoi", "Les trois statuts de certificabilité", "certifiabilite")
q("la certificabilité met combien de temps à se mettre à jour", "Vérifier la certificabilité", "certifiabilite")
q("mon eleve ne pourra pas passer la certif, il est non certifiable", "Élève non certifiable", "certifiabilite")
q("certifiable", "Être certifiable", "certifiabilite", acc=["Menu collecte et certificabilité"])

# ---------------------------------------------------------------- certification
q("combien de temps dure la certification", "La certification Pix depuis 2024", "certification")
q("c'est quoi la nouvelle certif pix", "La certification Pix depuis 2024", "certification")
q("combien de questions a la certif ?", "La certification Pix depuis 2024", "certification")
q("je surveille la certif jeudi je dois faire quoi ?", "Surveiller une session de certification", "certification")
q("combien de surveillants il faut", "Surveiller une session de certification", "certification", acc=["Organiser les sessions de certification"])
q("extension pix companion", "Extension de navigateur sécurisée", "certification")
q("l’extension n’est pas installée sur les ordis de la salle", "Extension de navigateur sécurisée", "certification")
q("comment finaliser une session", "Finaliser une session de certification", "certification")
q("je fais quoi du pv d'incident", "Finaliser une session de certification", "certification", acc=["Surveiller une session de certification"])
q("quand ouvre pix certif pour les colleges", "Dates d'ouverture de Pix Certif", "certification")
q("c'est quand la certif cette année ?", "Dates d'ouverture de Pix Certif", "certification")
q("comment récupérer les attestations de certification", "Télécharger résultats et attestations", "certification")
q("importer les résultats pix dans le lsu", "Importer les résultats dans LSU ou LSL", "certification")
q("lsu", "Importer les résultats dans LSU ou LSL", "certification")
q("pix certif", "Accéder à Pix Certif", "certification", acc=["Menu certification"])
q("comment créer les sessions de certification", "Organiser les sessions de certification", "certification")
q("un élève était absent le jour de la certif", "Organiser les sessions de certification", "certification", acc=["Période 7 : remplacements et finalisation"])
q("certification", "Menu certification", "certification", acc=["La certification Pix depuis 2024"])
q("sertification pix", "La certification Pix depuis 2024", "certification", acc=["Menu certification"])

# ---------------------------------------------------------------- calendrier
q("calendrier du référent", "Calendrier du référent PIX", "calendrier")
q("qu'est ce que je dois faire en janvier", "Période 4 : première collecte", "calendrier")
q("periode 3", "Période 3 : bilan et formation", "calendrier")
q("que faire en fin d'année avec pix", "Fin d'année : bilan et archivage", "calendrier")
q("archiver les campagnes", "Fin d'année : bilan et archivage", "calendrier")
q("to do list pix", "Calendrier du référent PIX", "calendrier")
q("qu'est ce qu'on fait en octobre", "Période 2 : parcours de rentrée", "calendrier")

# ---------------------------------------------------------------- depannage
q("j'ai pas reçu le mail d'invitation", "Pas reçu le mail d'invitation", "depannage")
q("invitation jamais recue", "Pas reçu le mail d'invitation", "depannage")
q("le lien d'invitation ne marche pas", "Lien d'invitation déjà utilisé", "depannage")
q("quand je clique sur le lien il ne se passe rien", "Lien d'invitation déjà utilisé", "depannage")
q("j'ai un compte pix mais je n'arrive pas à me connecter à pix orga", "Connexion à Pix Orga impossible", "depannage")
q("mdp oublié pix orga", "Connexion à Pix Orga impossible", "depannage")
q("je trouve pas le fichier siecle", "Fichier SIECLE introuvable", "depannage")
q("compte gar vide", "Compte GAR vide", "depannage")
q("mon élève a perdu tout son profil quand il passe par le médiacentre", "Compte GAR vide", "depannage")
q("un élève n'apparait pas dans pix orga", "Compte élève non lié à l'établissement", "depannage", acc=["Réimporter à chaque arrivée ou départ"])
q("un eleve narrive pas a se connecter", "Élève qui n'arrive pas à se connecter", "depannage")
q("ça marche pas", "Menu dépannage", "depannage")
q("support pix", "Support Pix et autres aides", "depannage")

# ---------------------------------------------------------------- general
q("c'est quoi pix", "C'est quoi PIX ?", "general")
q("PIX ?", "C'est quoi PIX ?", "general", acc=["Tous les sujets PIX"])
q("a quoi ca sert pix", "C'est quoi PIX ?", "general")
q("en gros je dois faire quoi avec pix", "Le rôle de l'enseignant avec PIX", "general")
q("qui est le référent pix ?", "Contacter le référent PIX", "general")
q("je voudrais parler à quelqu’un", "Contacter le référent PIX", "general")
q("rôle du référent pix", "Le rôle du référent PIX", "general")
q("menu", "Tous les sujets PIX", "general")
q("présenter pix aux collègues en réunion", "Présenter PIX à l'équipe", "general")

# ---------------------------------------------------------------- small-talk
q("bonjour", "Choisir mon profil", "small-talk")
q("Bonjour !", "Choisir mon profil", "small-talk")
q("slt", "Choisir mon profil", "small-talk")
q("merci", "Au revoir", "small-talk")
q("merci beaucoup c'est très clair", "Au revoir", "small-talk")
q("au revoir", "Au revoir", "small-talk")
q("bonne journée", "Au revoir", "small-talk")
q("Retour à l'accueil", "INITIAL", "small-talk", [E], acc=["Choisir mon profil"])
q("je veux changer de profil", "Choisir mon profil", "small-talk")
q("coucou", "Choisir mon profil", "small-talk")

# ---------------------------------------------------------------- off-topic
for s in [
    "menu de la cantine",
    "c'est quoi le menu de la cantine demain ?",
    "emploi du temps de la 4B",
    "je trouve pas mon emploi du temps sur pronote",
    "y a grève jeudi ?",
    "est ce qu’il y a grève demain",
    "où on peut se garer ?",
    "le parking est plein",
    "la photocopieuse est en panne",
    "comment faire des photocopies couleur",
    "imprimante bloquée en salle 12",
    "code wifi",
    "mot de passe ENT oublié",
    "date du conseil de classe",
    "quand sont les vacances de février",
    "réunion parents profs",
    "comment déclarer une absence",
    "je suis malade qui prévenir",
    "la salle 204 est libre ?",
    "comment remplir le cahier de texte",
    "autorisation pour une sortie scolaire",
    "le chauffage ne marche pas en salle 3",
    "quelle météo demain",
    "les notes du trimestre c'est pour quand",
    "raconte moi une blague",
    "qui remplace un collègue absent",
    "le code de la porte du parking",
    "horaires du CDI",
    "faire l'appel sur pronote",
    "comment commander des manuels",
    "le vidéoprojecteur ne s'allume pas",
    "dates du brevet blanc",
    "photocopieur",
    "cantine",
    "c'est quoi le code de la salle des profs",
    "formulaire de remboursement des frais de déplacement",
    "prochaine réunion pédagogique c'est quand",
    "numéro du rectorat",
]:
    q(s, "FALLBACK", "off-topic")

out = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "questions.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump(Q, f, ensure_ascii=False, indent=1)
    f.write("\n")
from collections import Counter
print(len(Q), Counter(d["category"] for d in Q))
