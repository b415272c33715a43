package org.relabel4j.data.image;

/** Encoded image formats, told from their first bytes ({@link #sniff}). */
public enum ImageFormat {
    JPEG, PNG, GIF, BMP, TIFF, WEBP, PNM, JPEG2000, UNKNOWN;

    /** The format whose signature starts {@code b}; {@link #UNKNOWN} when none does (OpenCV may still read it). */
    public static ImageFormat sniff(byte[] b) {
        int n = b.length;
        if (n >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF) return JPEG;
        if (n >= 8 && (b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G' && b[4] == 0x0D && b[5] == 0x0A
                && b[6] == 0x1A && b[7] == 0x0A) return PNG;
        if (n >= 6 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F' && b[3] == '8' && (b[4] == '7' || b[4] == '9') && b[5] == 'a')
            return GIF;
        if (n >= 2 && b[0] == 'B' && b[1] == 'M') return BMP;
        if (n >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0) || (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42)))
            return TIFF;
        if (n >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' && b[9] == 'E' && b[10] == 'B'
                && b[11] == 'P') return WEBP;
        if (n >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7' && Character.isWhitespace(b[2])) return PNM;
        if (n >= 12 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0x0C && b[4] == 'j' && b[5] == 'P') return JPEG2000;
        if (n >= 4 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0x4F && (b[2] & 0xFF) == 0xFF && (b[3] & 0xFF) == 0x51)
            return JPEG2000;
        return UNKNOWN;
    }
}
