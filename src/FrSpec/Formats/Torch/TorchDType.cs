namespace FrSpec.Formats.Torch;

/// <summary>Element types of torch storages that FrSpec reads and writes.</summary>
public enum TorchDType
{
    Float32,
    Float16,
    BFloat16,
    Float64,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt8,
    Bool,
}

/// <summary>Sizes and pickle names of <see cref="TorchDType"/>.</summary>
public static class TorchDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this TorchDType dtype) => dtype switch
    {
        TorchDType.Float32 or TorchDType.Int32 => 4,
        TorchDType.Float16 or TorchDType.BFloat16 or TorchDType.Int16 => 2,
        TorchDType.Float64 or TorchDType.Int64 => 8,
        TorchDType.Int8 or TorchDType.UInt8 or TorchDType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>True for the integer types (not Bool, not floats).</summary>
    public static bool IsInteger(this TorchDType dtype) =>
        dtype is TorchDType.Int64 or TorchDType.Int32 or TorchDType.Int16 or TorchDType.Int8 or TorchDType.UInt8;

    /// <summary>The `torch.XxxStorage` class name that torch.save pickles for this type.</summary>
    public static string StorageClassName(this TorchDType dtype) => dtype switch
    {
        TorchDType.Float32 => "FloatStorage",
        TorchDType.Float16 => "HalfStorage",
        TorchDType.BFloat16 => "BFloat16Storage",
        TorchDType.Float64 => "DoubleStorage",
        TorchDType.Int64 => "LongStorage",
        TorchDType.Int32 => "IntStorage",
        TorchDType.Int16 => "ShortStorage",
        TorchDType.Int8 => "CharStorage",
        TorchDType.UInt8 => "ByteStorage",
        TorchDType.Bool => "BoolStorage",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Inverse of <see cref="StorageClassName"/>; null for any other name.</summary>
    public static TorchDType? FromStorageClassName(string name) => name switch
    {
        "FloatStorage" => TorchDType.Float32,
        "HalfStorage" => TorchDType.Float16,
        "BFloat16Storage" => TorchDType.BFloat16,
        "DoubleStorage" => TorchDType.Float64,
        "LongStorage" => TorchDType.Int64,
        "IntStorage" => TorchDType.Int32,
        "ShortStorage" => TorchDType.Int16,
        "CharStorage" => TorchDType.Int8,
        "ByteStorage" => TorchDType.UInt8,
        "BoolStorage" => TorchDType.Bool,
        _ => null,
    };
}
