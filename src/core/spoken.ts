import type { PromptFormatter } from './snapshot.js';

/** Languages with their own spelling alphabet; every other language is spelled in English. */
export type SpellingLanguage = 'en' | 'de' | 'fr' | 'es';

/** The words a speaker uses for one language: a word per letter, per digit, and for an address's signs. */
interface SpellingAlphabet {
  /** A to Z, in order. */
  letters: readonly string[];
  /** 0 to 9, in order. */
  digits: readonly string[];
  /** How a person says the signs of a web address. */
  signs: Readonly<Record<string, string>>;
}

/** The signs of a web address, in the order each alphabet below names them. */
const SIGNS = ['.', ':', '/', '-', '_', '?', '=', '&', '@', '#', '~', '%', '+'];

/** An alphabet from three comma-separated lists: 26 letter words, 10 digit words, the signs' names. */
function alphabet(letters: string, digits: string, signs: string): SpellingAlphabet {
  const names = signs.split(',');
  return { letters: letters.split(','), digits: digits.split(','), signs: Object.fromEntries(SIGNS.map((sign, i) => [sign, names[i]!])) };
}

/**
 * en: the ICAO radiotelephony alphabet. de: DIN 5009:2022 (cities; "zwo" for 2, as DIN 5009 says
 * it). fr: the usual French alphabet (Anatole, Berthe…). es: the usual Spanish one (Antonio,
 * Barcelona…).
 */
const ALPHABETS: Readonly<Record<SpellingLanguage, SpellingAlphabet>> = {
  en: alphabet(
    'Alfa,Bravo,Charlie,Delta,Echo,Foxtrot,Golf,Hotel,India,Juliett,Kilo,Lima,Mike,November,Oscar,Papa,Quebec,Romeo,Sierra,Tango,Uniform,Victor,Whiskey,X-ray,Yankee,Zulu',
    'zero,one,two,three,four,five,six,seven,eight,nine',
    'dot,colon,slash,dash,underscore,question mark,equals,and,at,hash,tilde,percent,plus',
  ),
  de: alphabet(
    'Aachen,Berlin,Chemnitz,Düsseldorf,Essen,Frankfurt,Goslar,Hamburg,Ingelheim,Jena,Köln,Leipzig,München,Nürnberg,Offenbach,Potsdam,Quickborn,Rostock,Salzwedel,Tübingen,Unna,Völklingen,Wuppertal,Xanten,Ypsilon,Zwickau',
    'null,eins,zwo,drei,vier,fünf,sechs,sieben,acht,neun',
    'Punkt,Doppelpunkt,Schrägstrich,Bindestrich,Unterstrich,Fragezeichen,gleich,und,at,Raute,Tilde,Prozent,plus',
  ),
  fr: alphabet(
    'Anatole,Berthe,Célestin,Désiré,Eugène,François,Gaston,Henri,Irma,Joseph,Kléber,Louis,Marcel,Nicolas,Oscar,Pierre,Quintal,Raoul,Suzanne,Thérèse,Ursule,Victor,William,Xavier,Yvonne,Zoé',
    'zéro,un,deux,trois,quatre,cinq,six,sept,huit,neuf',
    "point,deux-points,slash,tiret,tiret bas,point d'interrogation,égal,et,arobase,dièse,tilde,pour cent,plus",
  ),
  es: alphabet(
    'Antonio,Barcelona,Carmen,Dolores,Enrique,Francia,Granada,Historia,Inés,José,Kilo,Lorenzo,Madrid,Navarra,Oviedo,París,Querido,Ramón,Sábado,Toledo,Úbeda,Valencia,Washington,Xilófono,Yegua,Zaragoza',
    'cero,uno,dos,tres,cuatro,cinco,seis,siete,ocho,nueve',
    'punto,dos puntos,barra,guion,guion bajo,signo de interrogación,igual,y,arroba,almohadilla,virgulilla,por ciento,más',
  ),
};

/** The spelling language for a language tag (`de-CH` → `de`); English for any other or none. */
export function spellingLanguage(tag: string | undefined): SpellingLanguage {
  const base = (tag ?? '').trim().toLowerCase().split(/[-_]/)[0];
  return base === 'de' || base === 'fr' || base === 'es' ? base : 'en';
}

/** One character in words: a letter by the alphabet, a digit by name, a sign by name, else itself. */
function characterWord(character: string, alphabet: SpellingAlphabet): string {
  const upper = character.toUpperCase();
  if (upper >= 'A' && upper <= 'Z' && upper.length === 1) return alphabet.letters[upper.charCodeAt(0) - 65]!;
  if (character >= '0' && character <= '9') return alphabet.digits[Number(character)]!;
  return alphabet.signs[character] ?? character;
}

/**
 * A code spelled for a speaker, one word per character, its groups parted by commas (a pause):
 * `BDWP-HQPK` → "Bravo Delta Whiskey Papa, Hotel Quebec Papa Kilo"; `123-456-789` → "one two
 * three, four five six, seven eight nine".
 */
export function spellCode(code: string, language: string | undefined): string {
  const alphabet = ALPHABETS[spellingLanguage(language)];
  return code
    .split(/[\s\-‐‑‒–—]+/)
    .filter(Boolean)
    .map((group) => [...group].map((character) => characterWord(character, alphabet)).join(' '))
    .join(', ');
}

/**
 * A web address the way a person says it: without `http://`, words as words, numbers digit by
 * digit, signs by name: `http://192.168.1.20:1880/link` → "one nine two dot one six eight dot one
 * dot two zero colon one eight eight zero slash link"; `https://example.com/link` → "example dot
 * com slash link".
 */
export function speakAddress(url: string, language: string | undefined): string {
  const alphabet = ALPHABETS[spellingLanguage(language)];
  const bare = url.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/+$/, '');
  const parts = bare.match(/\p{L}+|[0-9]|\S/gu) ?? [];
  return parts.map((part) => (part.length > 1 || /\p{L}/u.test(part) ? part : characterWord(part, alphabet))).join(' ');
}

/** How the snapshot's spoken fields are worded: whose spelling alphabet, and the sentence around it. */
export interface SpeechOptions {
  /** A language tag (`de`, `fr-CA`); its base language picks the spelling alphabet. */
  language: string;
  /** The whole sentence for text-to-speech, given the address and the code already in words. */
  formatPrompt: PromptFormatter;
}

/** The spoken prompt in English: "To link Spotify, open example dot com slash link and enter the code …" ("To relink …"). */
export const englishSpokenPrompt: PromptFormatter = ({ provider, url, code, relink }) =>
  `To ${relink ? 'relink' : 'link'} ${provider}, open ${url} and enter the code ${code}.`;

/** English words and the English sentence: what a Link uses when it is given nothing else. */
export const ENGLISH_SPEECH: SpeechOptions = { language: 'en', formatPrompt: englishSpokenPrompt };

/** `user_code_spoken` and `prompt_spoken` for a code on show. */
export function spokenCode(
  shown: { provider: string; url: string; code: string; relink: boolean },
  speech: SpeechOptions,
): { user_code_spoken: string; prompt_spoken: string } {
  const code = spellCode(shown.code, speech.language);
  return {
    user_code_spoken: code,
    prompt_spoken: speech.formatPrompt({ provider: shown.provider, url: speakAddress(shown.url, speech.language), code, relink: shown.relink }),
  };
}
