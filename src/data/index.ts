/**
 * Data: the byte-level BPE tokenizer (tokenizer.json in and out), chat templates, streaming readers, the packing
 * loader with exact resume, the built-in verifiable tasks and the pre-training corpus built from them, in English and
 * Spanish; language identification by word lists; the non-reasoning SFT tasks, preference pairs with known ground
 * truth, and R1's readability filters.
 */
export { BYTE_CHARS, toByteLevel, decodeUtf8 } from './bytelevel.js';
export { BpeModel, type BpeOptions } from './bpe.js';
export { trainBpe, type BpeTrainOptions, type BpeTrainResult } from './bpe_train.js';
export {
  PRE_TOKENIZER_PRESETS,
  GPT2_PATTERN,
  DEEPSEEK_V3_WORD_PATTERN,
  QWEN2_PATTERN,
  toJsRegex,
  compilePreTokenizer,
  compileNormalizer,
  type PreTokenizerConfig,
  type SplitBehavior,
} from './pretokenize.js';
export {
  Tokenizer,
  DEFAULT_SPECIAL_TOKENS,
  type AddedToken,
  type SpecialTokenSpec,
  type TokenizerConfig,
  type TokenizerEncodeOptions,
  type TokenizerDecodeOptions,
  type TokenizerTrainOptions,
} from './tokenizer.js';
export {
  renderChat,
  applyChatTemplate,
  R1_CHAT_TEMPLATE,
  type ChatMessage,
  type RenderChatOptions,
  type ChatTokenizer,
} from './chat.js';
export {
  readDocuments,
  readTexts,
  expandPaths,
  formatOf,
  newReaderStats,
  type SourcePos,
  type SourceDoc,
  type DataFormat,
  type ReaderOptions,
  type ReaderStats,
} from './readers.js';
export {
  DataLoader,
  isValidationDoc,
  measureSplits,
  type SplitSizes,
  type DataLoaderOptions,
  type DataPosition,
  type DataSplit,
  type Batch,
  type LoaderStats,
  type LoaderTokenizer,
} from './loader.js';
export {
  corpusDocuments,
  writeCorpus,
  parseMix,
  parseLanguages,
  DEFAULT_MIX,
  DOC_KINDS,
  CORPUS_STYLES,
  DEFAULT_CORPUS_STYLE,
  type CorpusStyle,
  type CorpusDoc,
  type CorpusOptions,
  type CorpusStats,
  type DocKind,
} from './corpus.js';
export { templatedOrTaggedSolution } from './corpus_plain.js';
export * from './tasks/index.js';
export {
  words,
  languageOfWord,
  languageCounts,
  languageShare,
  dominantLanguage,
  mixedLanguage,
  parseLang,
  isLang,
  otherLang,
  LANGUAGES,
  LANGUAGE_NAMES,
  MIXED_SHARE,
  type Lang,
  type WordLanguage,
  type LanguageCounts,
} from './language.js';
export {
  READABILITY_FILTERS,
  readabilityFailures,
  isReadable,
  isReadableFormat,
  hasMixedLanguage,
  hasCodeBlock,
  hasOverlongParagraph,
  longestParagraph,
  MAX_PARAGRAPH_CHARS,
  type ReadabilityOptions,
} from './readability.js';
export {
  SFT_TASKS,
  getSftTask,
  sftRecord,
  sftResponse,
  identityTask,
  DEFAULT_IDENTITY,
  type SftTask,
  type SftItem,
  type SftRecord,
  type SftOptions,
  type LangOption,
  type Identity,
} from './sft/index.js';
export {
  prefPairs,
  prefPairAt,
  conversational,
  PREF_KINDS,
  type PrefPair,
  type PrefKind,
  type Flaw,
  type ConversationalPair,
} from './prefs/index.js';
