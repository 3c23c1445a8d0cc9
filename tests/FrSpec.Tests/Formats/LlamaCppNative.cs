using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FrSpec.Tests.Formats;

/// <summary>
/// llama.cpp itself (libllama and its ggml libraries from the LLamaSharp CPU backend package, version 0.30.0 as in the
/// peer benchmark; the portable "noavx" build, copied into the test output by the test project) through its C API: load
/// a GGUF the way llama.cpp's tools do, and run one batch with logits for every position. The parameter structs are
/// passed as opaque blocks of their C size, with only the fields set that the tests need (offsets from llama.h of that
/// version, the same LLamaSharp's bindings use). Null on machines without that build (not linux-x64). It also runs
/// llama.cpp's own quantizer (what llama-quantize calls), so that files llama.cpp writes can be read by FrSpec.
/// </summary>
internal static unsafe class LlamaCppNative
{
    private const int ModelParamsBytes = 72, ContextParamsBytes = 160;
    private const int CtxNCtx = 0, CtxNBatch = 4, CtxNUbatch = 8, CtxThreads = 24, CtxThreadsBatch = 28, CtxTypeK = 104, CtxTypeV = 108;

    // llama_model_quantize_params of llama.cpp c0c7e147 (the commit LLamaSharp 0.30.0 is built from): int32 nthread,
    // llama_ftype ftype, ggml_type output_tensor_type and token_embedding_type, six bools (allow_requantize,
    // quantize_output_tensor, only_copy, pure, keep_split, dry_run) at 16-21, then four pointers (imatrix, kv_overrides,
    // tensor_types, prune_layers) at 24-55: LLamaSharp's LLamaModelQuantizeParams, and what
    // llama_model_quantize_default_params of the packaged libllama.so writes (56 bytes, nthread 0, ftype 7).
    private const int QuantizeParamsBytes = 56, QNThread = 0, QFtype = 4, QQuantizeOutputTensor = 17;
    [StructLayout(LayoutKind.Sequential, Size = ModelParamsBytes)] private struct ModelParams { }
    [StructLayout(LayoutKind.Sequential, Size = QuantizeParamsBytes)] private struct QuantizeParams { }
    [StructLayout(LayoutKind.Sequential, Size = ContextParamsBytes)] private struct ContextParams { }

    [StructLayout(LayoutKind.Sequential)]
    private struct Batch
    {
        public int NTokens;
        public int* Token;
        public float* Embd;
        public int* Pos;
        public int* NSeqId;
        public int** SeqId;
        public sbyte* Logits;
    }

    private sealed class Api
    {
        public delegate* unmanaged[Cdecl]<void> BackendInit;
        public delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<int, byte*, void*, void>, void*, void> LogSet;
        public delegate* unmanaged[Cdecl]<ModelParams> ModelDefaultParams;
        public delegate* unmanaged[Cdecl]<byte*, ModelParams, nint> ModelLoad;
        public delegate* unmanaged[Cdecl]<nint, ulong> ModelNParams;
        public delegate* unmanaged[Cdecl]<nint, void> ModelFree;
        public delegate* unmanaged[Cdecl]<ContextParams> ContextDefaultParams;
        public delegate* unmanaged[Cdecl]<nint, ContextParams, nint> InitFromModel;
        public delegate* unmanaged[Cdecl]<nint, void> Free;
        public delegate* unmanaged[Cdecl]<int, int, int, Batch> BatchInit;
        public delegate* unmanaged[Cdecl]<Batch, void> BatchFree;
        public delegate* unmanaged[Cdecl]<nint, Batch, int> Decode;
        public delegate* unmanaged[Cdecl]<nint, int, float*> LogitsIth;
        public delegate* unmanaged[Cdecl]<QuantizeParams> QuantizeDefaultParams;
        public delegate* unmanaged[Cdecl]<byte*, byte*, QuantizeParams*, uint> Quantize;
    }

    private static readonly Lazy<Api?> Library = new(Load);

    public static bool Available => Library.Value != null;

    private static Api? Load()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "llama");
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64 || !File.Exists(Path.Combine(dir, "libllama.so")))
            return null;
        // No RUNPATH in these libraries: loading them in dependency order lets each find the previous ones by soname.
        nint lib = 0;
        foreach (var name in new[] { "libggml-base.so", "libggml-cpu.so", "libggml.so", "libllama.so" })
            lib = NativeLibrary.Load(Path.Combine(dir, name));
        var api = new Api
        {
            BackendInit = (delegate* unmanaged[Cdecl]<void>)NativeLibrary.GetExport(lib, "llama_backend_init"),
            LogSet = (delegate* unmanaged[Cdecl]<delegate* unmanaged[Cdecl]<int, byte*, void*, void>, void*, void>)NativeLibrary.GetExport(lib, "llama_log_set"),
            ModelDefaultParams = (delegate* unmanaged[Cdecl]<ModelParams>)NativeLibrary.GetExport(lib, "llama_model_default_params"),
            ModelLoad = (delegate* unmanaged[Cdecl]<byte*, ModelParams, nint>)NativeLibrary.GetExport(lib, "llama_model_load_from_file"),
            ModelNParams = (delegate* unmanaged[Cdecl]<nint, ulong>)NativeLibrary.GetExport(lib, "llama_model_n_params"),
            ModelFree = (delegate* unmanaged[Cdecl]<nint, void>)NativeLibrary.GetExport(lib, "llama_model_free"),
            ContextDefaultParams = (delegate* unmanaged[Cdecl]<ContextParams>)NativeLibrary.GetExport(lib, "llama_context_default_params"),
            InitFromModel = (delegate* unmanaged[Cdecl]<nint, ContextParams, nint>)NativeLibrary.GetExport(lib, "llama_init_from_model"),
            Free = (delegate* unmanaged[Cdecl]<nint, void>)NativeLibrary.GetExport(lib, "llama_free"),
            BatchInit = (delegate* unmanaged[Cdecl]<int, int, int, Batch>)NativeLibrary.GetExport(lib, "llama_batch_init"),
            BatchFree = (delegate* unmanaged[Cdecl]<Batch, void>)NativeLibrary.GetExport(lib, "llama_batch_free"),
            Decode = (delegate* unmanaged[Cdecl]<nint, Batch, int>)NativeLibrary.GetExport(lib, "llama_decode"),
            LogitsIth = (delegate* unmanaged[Cdecl]<nint, int, float*>)NativeLibrary.GetExport(lib, "llama_get_logits_ith"),
            QuantizeDefaultParams = (delegate* unmanaged[Cdecl]<QuantizeParams>)NativeLibrary.GetExport(lib, "llama_model_quantize_default_params"),
            Quantize = (delegate* unmanaged[Cdecl]<byte*, byte*, QuantizeParams*, uint>)NativeLibrary.GetExport(lib, "llama_model_quantize"),
        };
        api.LogSet(&Silent, null);
        api.BackendInit();
        return api;
    }

    [ThreadStatic] private static string? _lastError;

    /// <summary>Drops llama.cpp's log, except that the last error line of the calling thread is kept for messages.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void Silent(int level, byte* text, void* user)
    {
        const int GgmlLogLevelError = 4;
        if (level == GgmlLogLevelError && text != null) _lastError = Marshal.PtrToStringUTF8((nint)text)?.Trim();
    }

    /// <summary>llama.cpp's llama_model_ftype numbers (llama.h) of the file types the tests quantize to.</summary>
    public enum FileType
    {
        Q4_0 = 2, Q8_0 = 7, Q5_0 = 8, Q5_1 = 9, Q4_K_M = 15, Q5_K_M = 17, Q6_K = 18,
    }

    /// <summary>
    /// llama.cpp's own quantizer on a GGUF (F32/F16/BF16 weights), as `llama-quantize IN OUT TYPE 2` runs it: its type
    /// mix and fallbacks, no importance matrix, 2 threads. Throws with llama.cpp's error line when it fails.
    /// </summary>
    public static void Quantize(string input, string output, FileType type)
    {
        var api = Library.Value ?? throw new InvalidOperationException("llama.cpp is not in the test output");
        var p = api.QuantizeDefaultParams();
        byte* b = (byte*)&p;
        // the defaults (ftype Q8_0, quantize_output_tensor true) where this layout puts them, or the binding is stale
        if (*(int*)(b + QFtype) != (int)FileType.Q8_0 || b[QQuantizeOutputTensor] != 1)
            throw new InvalidOperationException("llama_model_quantize_default_params does not match the layout of llama_model_quantize_params assumed here");
        *(int*)(b + QNThread) = 2;
        *(int*)(b + QFtype) = (int)type;
        var inp = System.Text.Encoding.UTF8.GetBytes(input + "\0");
        var outp = System.Text.Encoding.UTF8.GetBytes(output + "\0");
        _lastError = null;
        uint rc;
        fixed (byte* i = inp, o = outp) rc = api.Quantize(i, o, &p);
        if (rc != 0) throw new FrSpecException($"{input}: llama_model_quantize to {type} returned {rc}: {_lastError}");
    }

    /// <summary>A model llama.cpp loaded (memory-mapped, as its tools load it), or a FrSpecException with the file named.</summary>
    public sealed class Model : IDisposable
    {
        private readonly Api _api;
        public nint Handle { get; private set; }

        public Model(string path)
        {
            _api = Library.Value ?? throw new InvalidOperationException("llama.cpp is not in the test output");
            var utf8 = System.Text.Encoding.UTF8.GetBytes(path + "\0");
            fixed (byte* p = utf8) Handle = _api.ModelLoad(p, _api.ModelDefaultParams());
            if (Handle == 0) throw new FrSpecException($"{path}: llama.cpp refused to load the model");
        }

        public ulong ParameterCount => _api.ModelNParams(Handle);

        /// <summary>Logits [tokens.Length, vocab] of one batch from position 0, F32 KV cache, 2 threads.</summary>
        public float[] Logits(int[] tokens, int vocab)
        {
            var cp = _api.ContextDefaultParams();
            byte* c = (byte*)&cp;
            uint n = (uint)Math.Max(64, tokens.Length);
            *(uint*)(c + CtxNCtx) = n; *(uint*)(c + CtxNBatch) = n; *(uint*)(c + CtxNUbatch) = n;
            *(int*)(c + CtxThreads) = 2; *(int*)(c + CtxThreadsBatch) = 2;
            *(int*)(c + CtxTypeK) = 0; *(int*)(c + CtxTypeV) = 0; // GGML_TYPE_F32 KV cache: the reference proper
            nint ctx = _api.InitFromModel(Handle, cp);
            if (ctx == 0) throw new FrSpecException("llama.cpp could not create a context");
            var batch = _api.BatchInit(tokens.Length, 0, 1);
            try
            {
                for (int i = 0; i < tokens.Length; i++)
                {
                    batch.Token[i] = tokens[i]; batch.Pos[i] = i; batch.NSeqId[i] = 1; batch.SeqId[i][0] = 0; batch.Logits[i] = 1;
                }
                batch.NTokens = tokens.Length;
                int rc = _api.Decode(ctx, batch);
                if (rc != 0) throw new FrSpecException($"llama_decode returned {rc}");
                var logits = new float[tokens.Length * vocab];
                for (int i = 0; i < tokens.Length; i++) new ReadOnlySpan<float>(_api.LogitsIth(ctx, i), vocab).CopyTo(logits.AsSpan(i * vocab, vocab));
                return logits;
            }
            finally
            {
                _api.BatchFree(batch);
                _api.Free(ctx);
            }
        }

        public void Dispose()
        {
            if (Handle != 0) { _api.ModelFree(Handle); Handle = 0; }
        }
    }
}
