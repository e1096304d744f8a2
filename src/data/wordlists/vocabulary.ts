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
ababa accra addis adds africa aluminium america amsterdam antarctica apple april aren't argon asks athens atomic
august bag bakery ball banana beach beautiful bed beijing belgium berlin bern bicycle big bird black blue boat bomb
book bottle box brasília brazil bread brussels calcium can't canada car carbon carefully cat chair cheap cheese
cherry chess chlorine church city clean clock cloud cobalt coefficient coffee cold collect combine continent
continents conversation copenhagen copper counting cow coworker coworker's coworkers cup danger december deletes
denmark didn't digit digits dirty divide divided doesn't dog don't door dublin earth egg egypt eighth empty enclosed
english equals equation ethiopia europe expensive fake february fifth finland flower fluorine france friday fruits
garden germany glass gold grape greece green hanoi harm hat havana heavy helium horse hot house hungary hurt
hydrogen i'll i'm i've introduce iodine iran ireland iron isn't it's italy jakarta january japan july june jupiter
kenya key kitchen knife knowing korea lamp lead lemon let's letter lion lisbon lithium logins london long magnesium
malware march mars may melon mercury metals mexico milk misses mistake monday moon morocco mountain multiplication
multiply neighbour neighbour's neon neptune netherlands new nickel nitrogen norway november oceania october odd old
oxygen parentheses paris partial partner's peach pear people's peru philippines phone phosphorus pig plane planets
plate poland potassium prompt protons purple reaches reasoning red remainder repeatedly reset respectively river
rome room saturday saturn school sea sentence seoul september seriously seventh sheep shirt shoe shoot shop sides
silicon silver sixth small smallest soap sodium solve solves someone's spain spanish spoon star steal stockholm
strawberry street subtract subtraction sulfur sun sunday sweden switzerland table tehran thailand that's there's
they're thieves thinks thursday tiger tin tokyo train trained translate tree trick tuesday unlock uranium uranus
vienna wall warsaw we're wednesday what's white window won't yellow you're zealand
briefly ex's frozen poison pond stranger wooden
alphabet redo writes
`;

/** Words of the built-in Spanish data missing from the common list. */
export const ES_EXTRA = `
abeba abril acra adís agosto ahorros ajedrez alemania aluminio amarilla amarillo amigos américa antártida argón
atenas atómico avión azufre azul bajos barata barato barco berlín berna bicicleta billete blanca blanco bloquear
bolsa bonita bonito borre botella brasil brasilia bruselas bélgica caballo café caja calcio caliente calle cama
camisa canadá cara carbono caro carta casa causar cerdo cereza cifra cifras ciudad cloro cobalto cobre coche cocina
coeficiente columna columnas combina comprobación comprobarla comprueba construyó continente continentes contraseña
copenhague corea corresponde creó cuarto cuchara cuchillo da desarrolló desbloquearlos desplaza devolver devuelva
dice diciembre dime dinamarca dividimos dividir divisiones domingo dublín ecuación egipto elemento enero engañar
entrenado entrenó escribo escríbelo escríbelos escuela españa estados estaño estocolmo estrella etiopía europa
explicas expresión fabricar febrero filipinas finlandia flor flúor francia frase fresa frutas fría frío fósforo gato
grande grecia gris habana habitación hanói helio hidrógeno hierro huevo hungría iglesia impar irlanda irán italia
jabón japón jardín jueves julio junio júpiter kenia larga largo leche lenguaje león libro limpia limpio limón lineal
lisboa litio llamabas llamas llave llevada llevamos llevo londres luna lunes lámpara magnesio malicioso manzana
marruecos marrón marte martes marzo mayo mayúsculas melocotón melón mercurio mesa metales miércoles montaña morado
multiplica multiplicaciones multiplicamos multiplicar méxico módulo naranja negra negro neptuno neón nitrógeno norte
noruega noviembre nube nueva nuevo níquel oceanía octavo octubre ocupa ordena ordenador ordenadores ordenados
ordenar oro oso oveja oxígeno pan panadería parcial posicional parciales pared paréntesis parís países pekín pelota pequeña
pequeño pera perro perú pesada pesado petición planetas plata plato playa plomo plátano polonia potasio preguntan
preséntate primer primero producto productos protones pruebo puerta pájaro queso quinto quitarles químico rastrear
ratón reconocer reino reloj restamos restas resuelve reúne roja rojo roma rosa río saturno segundo separado
septiembre sexto seúl silicio silla sodio sol sombrero soy sucia sucio suecia suiza suma sumamos suman sumar sumas
sur sustituye sábado séptimo tailandia taza teherán teléfono tercer tercero tienda tierra tigre tokio traduce tren
términos tómate ubicación unido unidos uranio urano usa usarse uva vaca vacía vacío varsovia vaso vecino venderlas
venderlo ventana verde vieja viejo viena viernes yakarta yodo zapato zelanda áfrica ámsterdam árbol átomo
bloqueado dame desconocida ex envenenar estanque han hay paces receta seguirla
alfabeto distintas empiezan etiquetas letras razonamiento usuario va
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
abuja ag aires ar argentina asia asunción au australia austria bangkok bogotá budapest ca cairo canberra capital
caracas chatgpt chile china cl co colombia come countdown cu cuba dakar delhi divide ecuador gemini ghana google he
helsinki hg india indonesia li lima madrid manila mg mod montevideo na nairobi ne nigeria ok openai oslo ottawa
paraguay pb portugal quito rabat santiago senegal sn solar tiny uruguay venezuela venus vietnam washington
wellington x zinc zn
`;
