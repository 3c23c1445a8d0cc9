namespace FrSpec.Text;

/// <summary>GPT-2's reversible byte to printable-character map used by byte-level BPE vocabularies.</summary>
internal static class ByteLevelMap
{
    /// <summary>Character standing for each byte.</summary>
    public static readonly char[] ByteToChar = new char[256];

    /// <summary>Byte of each character up to U+0143 (-1 for characters that stand for no byte).</summary>
    public static readonly short[] CharToByte = new short[0x144];

    static ByteLevelMap()
    {
        Array.Fill(CharToByte, (short)-1);
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            char c = printable ? (char)b : (char)(256 + extra++);
            ByteToChar[b] = c;
            CharToByte[c] = (short)b;
        }
    }

    /// <summary>Byte of a character, or -1.</summary>
    public static int ByteOf(char c) => c < CharToByte.Length ? CharToByte[c] : -1;
}
