using System.Text;
using System.Text.Json.Nodes;
using FrSpec.Numerics;
using FrSpec.Synthesis;
using FrSpec.Text;

namespace FrSpec.Fuzzing;

/// <summary>
/// The valid inputs fuzzing starts from, built in code (deterministic, no downloads) and small, so that thousands of
/// mutated cases run in minutes: a 300-id byte-level BPE tokenizer with every feature the loader reads, a chat
/// template, a two-layer model of hidden size 64 around it, and text in every corpus and question format.
/// </summary>
public static class FuzzSeeds
{
    /// <summary>Vocabulary of the seed tokenizer and models.</summary>
    public const int VocabSize = 300;

    /// <summary>Ids of the added control tokens of the seed tokenizer.</summary>
    public const int BosId = 296, EosId = 297, ImStartId = 298, ImEndId = 299;

    /// <summary>The seed model's shape: Llama-3 style (tied embeddings, llama3 rope scaling, GQA), tiny.</summary>
    public static SynthSpec ModelSpec { get; } = new()
    {
        Family = "llama3", HiddenSize = 64, IntermediateSize = 96, Layers = 2, Heads = 4, KvHeads = 2, VocabSize = VocabSize,
        TieWordEmbeddings = true, Llama3RopeFactor = 8.0, MaxPositions = 4096, BosTokenId = BosId, EosTokenIds = [EosId, ImEndId], RmsNormEps = 1e-5,
    };

    /// <summary>A ChatML template with a system default, loops, conditionals, filters and the generation prompt.</summary>
    public const string ChatTemplate =
        "{%- if messages[0]['role'] == 'system' -%}{%- set system = messages[0]['content'] -%}{%- set rest = messages[1:] -%}" +
        "{%- else -%}{%- set system = 'You are a helpful assistant.' -%}{%- set rest = messages -%}{%- endif -%}" +
        "{{ bos_token }}<|im_start|>system\n{{ system | trim }}<|im_end|>\n" +
        "{%- for m in rest -%}{%- if m['role'] not in ['user', 'assistant'] -%}{{ raise_exception('unknown role ' ~ m['role']) }}{%- endif -%}" +
        "<|im_start|>{{ m['role'] }}\n{{ m['content'] | trim }}<|im_end|>\n{%- endfor -%}" +
        "{%- if add_generation_prompt -%}<|im_start|>assistant\n{%- endif -%}";

    /// <summary>
    /// tokenizer.json: byte-level BPE over the 256 byte characters plus 40 merges, the Llama-3 split pattern, an NFC
    /// normalizer, a BOS template post-processor, a byte-level decoder and four added tokens.
    /// </summary>
    public static string TokenizerJson()
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelMap.ByteToChar[b].ToString()] = b;
        string Sp(string s) => s.Replace(' ', ByteLevelMap.ByteToChar[' ']);
        string[] words = ["he", "ll", "hell", "hello", " w", "or", " wor", "ld", " world", "th", " th", " the", "in", "ing", " a", "an", " an",
            "er", "es", "on", "at", "en", " s", "ou", "it", "is", " is", "re", " t", " to", "ed", "nd", " and", " o", " of", "ar", " c", "le", "ro", " f"];
        var merges = new JsonArray();
        int id = 256;
        foreach (var w in words)
        {
            string token = Sp(w);
            if (vocab.ContainsKey(token)) continue;
            // Split into the two longest known parts, as a BPE training run would have merged them.
            string? left = null;
            for (int cut = token.Length - 1; cut >= 1 && left is null; cut--)
                if (vocab.ContainsKey(token[..cut]) && vocab.ContainsKey(token[cut..])) left = token[..cut];
            if (left is null) continue;
            vocab[token] = id++;
            merges.Add(id % 2 == 0 ? JsonValue.Create($"{left} {token[left.Length..]}") : new JsonArray(left, token[left.Length..]));
        }
        JsonObject Added(int i, string content, bool special) => new()
        {
            ["id"] = i, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = special,
        };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(Added(BosId, "<|begin_of_text|>", true), Added(EosId, "<|end_of_text|>", true),
                Added(ImStartId, "<|im_start|>", true), Added(ImEndId, "<|im_end|>", true)),
            ["normalizer"] = new JsonObject { ["type"] = "NFC" },
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = PatternSplitter.Llama3Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["special_tokens"] = new JsonObject { ["<|begin_of_text|>"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["ids"] = new JsonArray(BosId), ["tokens"] = new JsonArray("<|begin_of_text|>") } },
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = true,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        return root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>tokenizer_config.json: special tokens (string and object forms) and the chat template.</summary>
    public static string TokenizerConfigJson() => new JsonObject
    {
        ["bos_token"] = "<|begin_of_text|>",
        ["eos_token"] = new JsonObject { ["content"] = "<|im_end|>", ["lstrip"] = false },
        ["pad_token"] = "<|end_of_text|>",
        ["clean_up_tokenization_spaces"] = false,
        ["model_max_length"] = 4096,
        ["chat_template"] = ChatTemplate,
    }.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="dir"/>; returns the tokenizer.json path.</summary>
    public static string WriteTokenizer(string dir)
    {
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(path, TokenizerJson());
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), TokenizerConfigJson());
        return path;
    }

    /// <summary>A complete model directory (config, generation config, weights, tokenizer files); sharded when <paramref name="maxShardBytes"/> is small.</summary>
    public static void WriteModel(string dir, DType dtype = DType.F32, long maxShardBytes = 2L << 30)
    {
        string tok = WriteTokenizer(Path.Combine(dir, ".tok"));
        ModelSynthesizer.Write(ModelSpec, dir, dtype, seed: 7, tokenizerJson: tok, maxShardBytes: maxShardBytes);
        Directory.Delete(Path.Combine(dir, ".tok"), recursive: true);
        // Sampling values, so that mutations reach the sampling checks.
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), new JsonObject
        {
            ["bos_token_id"] = BosId, ["eos_token_id"] = new JsonArray(EosId, ImEndId), ["do_sample"] = true,
            ["temperature"] = 0.7, ["top_p"] = 0.9, ["top_k"] = 20, ["max_new_tokens"] = 4,
        }.ToJsonString());
    }

    /// <summary>Prose with punctuation, digits, non-Latin scripts, an emoji and the special-token texts.</summary>
    public static readonly string[] Documents =
    [
        "hello world, the quick brown fox jumps over the lazy dog.",
        "In 2024 it rained 1,234 mm; is that a record?",
        "Ça va? Größe, naïve café — 你好，世界 — привет мир 😀",
        "<|im_start|>user\nhello<|im_end|>",
        "  leading spaces and\ttabs\r\nand a Windows line",
        "the end",
    ];

    /// <summary>The documents as text lines.</summary>
    public static string CorpusText() => string.Join("\n", Documents.Select(d => d.Replace("\r", "").Replace("\n", " "))) + "\n";

    /// <summary>The documents as JSON lines with a "text" field (and another field that must be ignored).</summary>
    public static string CorpusJsonLines()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Documents.Length; i++)
            sb.Append(new JsonObject { ["id"] = i, ["text"] = Documents[i], ["meta"] = new JsonObject { ["source"] = "seed" } }.ToJsonString()).Append('\n');
        return sb.ToString();
    }

    /// <summary>Spec-Bench style questions: single- and multi-turn, with references (one a list of alternatives).</summary>
    public static string QuestionsJsonLines() => string.Join("\n",
        """{"question_id": 81, "category": "writing", "turns": ["Write a haiku about the sea.", "Now make it rhyme."]}""",
        """{"question_id": 82, "category": "math", "turns": ["What is 12 * 13?"], "reference": ["156"]}""",
        """{"question_id": "qa-1", "category": "qa", "turns": ["Who wrote Hamlet?"], "reference": [["Shakespeare", "William Shakespeare"]]}""",
        """{"question_id": 84, "category": "translation", "turns": ["Translate: bonjour"]}""") + "\n";

    /// <summary>HumanEval style problems.</summary>
    public static string HumanEvalJsonLines() => string.Join("\n",
        """{"task_id": "HumanEval/0", "prompt": "def add(a, b):\n    \"\"\"Add two numbers.\"\"\"\n", "entry_point": "add", "canonical_solution": "    return a + b\n", "test": "def check(f):\n    assert f(1, 2) == 3\n"}""",
        """{"task_id": "HumanEval/1", "prompt": "def neg(a):\n", "entry_point": "neg", "test": "def check(f):\n    assert f(1) == -1\n"}""") + "\n";
}
