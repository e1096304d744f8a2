/**
 * The hand-kept part of the word lists (see ../language.ts): words the built-in data uses that the common lists lack,
 * and what words that both common lists hold count as. Kept by hand; test/data/language.test.ts fails when a built-in
 * generator writes a word that no list has, naming it.
 *
 * Rules for words in both languages' lists: they count as neutral (`no`, `me`, `he`, `son`, `real`, `hotel`), except
 * function words that are far more common in one language (`in`, `to` are English; `la`, `con`, `y`, `o` Spanish), which
 * FORCE_EN / FORCE_ES assign. NEUTRAL lists words that must count for neither language even if one list has them:
 * names that are spelt alike in both (`Lima`, `Madrid`), chemical symbols and the model's own name.
 *
 * Not here: the common-word lists (common.ts, generated), the lookup (../language.ts).
 */

/** Words of the built-in English data missing from the common list. */
export const EN_EXTRA = `
digit digits equals parentheses reaches solve sides divide divided subtract smallest multiply remainder
don't can't won't isn't aren't doesn't didn't it's i'm i'll i've you're we're they're that's there's what's let's
`;

/** Words of the built-in Spanish data missing from the common list. */
export const ES_EXTRA = `
columna columnas escribo llevo llevada llevamos cifra cifras multiplicamos sumamos restamos dividimos productos producto
expresión usa paréntesis pruebo resuelve ecuación comprobación ordena ordenados dividir módulo
`;

/** Words in both lists that count as English. */
export const FORCE_EN = `
in to ten lord i
`;

/** Words in both lists that count as Spanish. */
export const FORCE_ES = `
la lo es con mi y o e u ha mar sin
`;

/** Words that count for neither language. */
export const NEUTRAL = `
x ok mod come
`;
