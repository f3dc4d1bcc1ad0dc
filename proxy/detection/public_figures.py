"""People everyone knows, characters and places of fiction, and brands named after a person: "explain Einstein's
relativity", "was Sherlock Holmes real?", "is Tommy Hilfiger cheaper than Ralph Lauren?" name no
one whose privacy is at stake. A question about them is not personal data (issue #15).

The list is written by hand from general knowledge (history, science, arts, politics, business,
sport, screen, fiction, brands); it shares no source with any evaluation set. A name on it is still
a person's when a personal cue stands right before it ("my colleague Homer Simpson"): see
`noise.py`. Names many private people share ("Peter Parker", "Michael Scott", "Tim Cook", "Mary
Berry") are left out: a customer of that name must not reach the vendor because a celebrity has it.
"""

from __future__ import annotations

import re
from functools import lru_cache

_FIGURES = """
Albert Einstein; Isaac Newton; Charles Darwin; Marie Curie; Pierre Curie; Nikola Tesla; Galileo Galilei;
Stephen Hawking; Richard Feynman; Niels Bohr; Max Planck; Werner Heisenberg; Erwin Schrödinger; Alan Turing;
Ada Lovelace; Johannes Kepler; Nicolaus Copernicus; Carl Sagan; Louis Pasteur; Gregor Mendel; Rosalind Franklin;
Dmitri Mendeleev; Michael Faraday; James Clerk Maxwell; Thomas Edison; Alexander Graham Bell; Sigmund Freud;
Carl Jung; Ivan Pavlov; Euclid; Pythagoras; Archimedes; Leonhard Euler; Carl Friedrich Gauss; Srinivasa Ramanujan;
John von Neumann; Claude Shannon; Tim Berners-Lee; Linus Torvalds; Grace Hopper; Edsger Dijkstra; Donald Knuth;
Guido van Rossum; Dennis Ritchie; Bjarne Stroustrup; James Gosling; Richard Stallman;
Geoffrey Hinton; Yann LeCun; Andrew Ng; Thomas Bayes; Blaise Pascal; René Descartes; Pierre de Fermat;
Bernhard Riemann; David Hilbert; Kurt Gödel; Emmy Noether; Florence Nightingale; Hippocrates; Edward Jenner;
Alexander Fleming; Jonas Salk; Robert Oppenheimer; Enrico Fermi; Paul Dirac; Jane Goodall; 
Plato; Aristotle; Socrates; Confucius; Immanuel Kant; Friedrich Nietzsche; Karl Marx; Friedrich Engels;
John Maynard Keynes; Milton Friedman; John Locke; Thomas Hobbes; Jean-Jacques Rousseau; Voltaire;
John Stuart Mill; Niccolò Machiavelli; Søren Kierkegaard; Ludwig Wittgenstein; Hannah Arendt;
William Shakespeare; Jane Austen; Charles Dickens; Leo Tolstoy; Fyodor Dostoevsky; Mark Twain; Ernest Hemingway;
George Orwell; Virginia Woolf; James Joyce; Franz Kafka; Gabriel García Márquez; Miguel de Cervantes;
Dante Alighieri; Homer; Johann Wolfgang von Goethe; Victor Hugo; Oscar Wilde; Agatha Christie;
Arthur Conan Doyle; J. K. Rowling; J. R. R. Tolkien; Toni Morrison; Maya Angelou;
Edgar Allan Poe; Emily Dickinson; Walt Whitman; Haruki Murakami; Chinua Achebe; Jorge Luis Borges;
Pablo Neruda; Simone de Beauvoir; Albert Camus; Jean-Paul Sartre; Marcel Proust; Umberto Eco; Alexandre Dumas;
Charlotte Brontë; Emily Brontë; Mary Shelley; Lewis Carroll; Roald Dahl; Thomas Mann; Hermann Hesse;
Leonardo da Vinci; Michelangelo; Raphael; Vincent van Gogh; Pablo Picasso; Claude Monet; Rembrandt;
Frida Kahlo; Salvador Dalí; Andy Warhol; Johann Sebastian Bach; Wolfgang Amadeus Mozart; Ludwig van Beethoven;
Frédéric Chopin; Pyotr Ilyich Tchaikovsky; Antonio Vivaldi; Richard Wagner; Giuseppe Verdi; Franz Schubert;
Johannes Brahms; Claude Debussy; Gustav Mahler; Igor Stravinsky;
Napoleon Bonaparte; Napoleon; Julius Caesar; Alexander the Great; Cleopatra; Genghis Khan; Kublai Khan;
Marco Polo; Christopher Columbus; Ferdinand Magellan; Vasco da Gama; Charlemagne; Queen Victoria; Henry VIII;
Louis XIV; Peter the Great; Catherine the Great; Joan of Arc; Attila; Hannibal Barca; Saladin; Suleiman;
George Washington; Thomas Jefferson; Abraham Lincoln; Benjamin Franklin; Alexander Hamilton;
Theodore Roosevelt; Franklin D. Roosevelt; Franklin Roosevelt; Winston Churchill; Adolf Hitler; Hitler;
Joseph Stalin; Vladimir Lenin; Leon Trotsky; Benito Mussolini; Mao Zedong; Mahatma Gandhi; Jawaharlal Nehru;
Nelson Mandela; Martin Luther King; Martin Luther; John F. Kennedy; Richard Nixon; Ronald Reagan;
Margaret Thatcher; Charles de Gaulle; Otto von Bismarck; Hermann Göring; Heinrich Himmler; Joseph Goebbels;
Rudolf Hess; Adolf Eichmann; Erwin Rommel; Mikhail Gorbachev; Fidel Castro; Che Guevara;
Simón Bolívar; Ho Chi Minh; Barack Obama; Michelle Obama; Donald Trump; Joe Biden; Kamala Harris;
Hillary Clinton; Bill Clinton; George W. Bush; Angela Merkel; Emmanuel Macron; Vladimir Putin;
Xi Jinping; Narendra Modi; Justin Trudeau; Boris Johnson; Rishi Sunak; Keir Starmer; Theresa May; Tony Blair;
Olaf Scholz; Volodymyr Zelensky; Jacinda Ardern; Queen Elizabeth II; King Charles III; Prince Harry;
Princess Diana; Pope Francis; Dalai Lama; Jerome Powell; Janet Yellen; Christine Lagarde; Mario Draghi;
Ben Bernanke; Alan Greenspan; Ursula von der Leyen; Samuel Alito; 
Sonia Sotomayor; Elena Kagan; Neil Gorsuch; Brett Kavanaugh; Amy Coney Barrett; Ketanji Brown Jackson;
Ruth Bader Ginsburg; Antonin Scalia; Thurgood Marshall; Oliver Wendell Holmes;
Warren Buffett; Elon Musk; Bill Gates; Steve Jobs; Steve Wozniak; Jeff Bezos; Mark Zuckerberg; Sam Altman;
Satya Nadella; Sundar Pichai; Sergey Brin; Jensen Huang; 
Walt Disney; Oprah Winfrey; Taylor Swift; Beyoncé; Elvis Presley; John Lennon;
Paul McCartney; Madonna; Lady Gaga; Rihanna; Ed Sheeran; Adele; Drake; Kanye West; Bob Dylan; David Bowie;
Freddie Mercury; Bob Marley; Billie Eilish; Shakira; Lionel Messi; Cristiano Ronaldo; 
LeBron James; Serena Williams; Roger Federer; Rafael Nadal; Novak Djokovic; Usain Bolt; Muhammad Ali;
Tiger Woods; Pelé; Diego Maradona; Simone Biles; Marilyn Monroe; Charlie Chaplin;
Audrey Hepburn; Tom Hanks; Meryl Streep; Leonardo DiCaprio; Brad Pitt; Angelina Jolie; Steven Spielberg;
Alfred Hitchcock; Quentin Tarantino; Christopher Nolan; Martin Scorsese; Stanley Kubrick; 
Gordon Ramsay; Julia Child; David Attenborough; Greta Thunberg; Malala Yousafzai;
Sherlock Holmes; Hercule Poirot; Miss Marple; James Bond; Harry Potter; Hermione Granger; Ron Weasley;
Albus Dumbledore; Lord Voldemort; Severus Snape; Frodo Baggins; Bilbo Baggins; Samwise Gamgee; Gandalf;
Aragorn; Gollum; Luke Skywalker; Darth Vader; Han Solo; Princess Leia; Obi-Wan Kenobi; Indiana Jones;
Mickey Mouse; Donald Duck; Homer Simpson; Bart Simpson; Marge Simpson; 
Wonder Woman; Captain America; Fitzwilliam Darcy;
Jay Gatsby; Atticus Finch; Holden Caulfield; Don Quixote; Sancho Panza; Ebenezer Scrooge; Oliver Twist;
Winnie the Pooh; Peter Pan; Captain Hook; Robin Hood; King Arthur; Count Dracula; Victor Frankenstein;
Tarzan; Pinocchio; Cinderella; Snow White; Lara Croft; Daenerys Targaryen; Tyrion Lannister;
Jesse Pinkman; Tony Soprano; Dwight Schrute; Ted Lasso;
Katniss Everdeen; Hannibal Lecter; Forrest Gump; Rocky Balboa; Willy Wonka; Mary Poppins; Huckleberry Finn;
Jean Valjean; Anna Karenina; Madame Bovary; Dorian Gray; Jane Eyre; Heathcliff; Gregor Samsa;
Tommy Hilfiger; Ralph Lauren; Calvin Klein; Jack Daniel's; Jack Daniels; Johnnie Walker; Dr. Martens;
Doc Martens; Hugo Boss; Giorgio Armani; Coco Chanel; Christian Dior; Louis Vuitton; Ben & Jerry's;
Levi Strauss; Estée Lauder; Martha Stewart; Colonel Sanders; Ronald McDonald; Betty Crocker; Jimmy Choo;
Marks & Spencer; Dolce & Gabbana; Yves Saint Laurent; Vera Wang; 
Hogwarts; Narnia; Mordor; Middle-earth; Gotham; Wakanda; Atlantis
"""


def _key(text: str) -> str:
    """Case-folded words, no possessive, one space between them."""
    text = re.sub(r"['’]s\b", "", text.casefold())
    return " ".join(w for w in re.split(r"[^\w&'’-]+", text) if w)


@lru_cache(maxsize=1)
def figures() -> frozenset[str]:
    """Every listed name as a `_key`."""
    return frozenset(_key(name) for name in _FIGURES.split(";") if name.strip())


@lru_cache(maxsize=1)
def _by_word() -> dict[str, tuple[str, ...]]:
    """Each word of a listed name of several words, with the names it is part of."""
    names: dict[str, list[str]] = {}
    for name in figures():
        for word in name.split() if " " in name else ():
            names.setdefault(word, []).append(name)
    return {word: tuple(found) for word, found in names.items()}


def is_public_figure(value: str, text: str, family_names: frozenset[str]) -> bool:
    """`value` is a listed name; or part of a listed name written out in full in `text` ("Holmes"
    after "Sherlock Holmes"); or the family name of a listed person that is nobody else's
    (`family_names` lacks it: "Einstein", not "Holmes")."""
    key = _key(value)
    if not key or key in figures():
        return bool(key)
    words = key.split()
    candidates = _by_word().get(words[0], ())
    if len(words) == 1 and words[0] not in family_names and any(n.endswith(" " + words[0]) for n in candidates):
        return True
    whole = _key(text)
    return any(set(words) <= set(name.split()) and name in whole for name in candidates)
