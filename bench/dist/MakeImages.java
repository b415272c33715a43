import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.global.opencv_imgproc;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

/**
 * Writes N JPEGs (ImageFolder layout, 10 classes, W x H, quality 90) of smooth random color fields plus noise:
 * java -cp "java/cli/target/lib/*" bench/dist/MakeImages.java OUT N W H
 */
public class MakeImages {
    public static void main(String[] a) throws Exception {
        Path out = Path.of(a[0]);
        int n = Integer.parseInt(a[1]), w = Integer.parseInt(a[2]), h = Integer.parseInt(a[3]);
        Random rnd = new Random(0);
        for (int i = 0; i < n; ++i) {
            Mat small = new Mat(h / 8 + 2, w / 8 + 2, org.bytedeco.opencv.global.opencv_core.CV_8UC3);
            byte[] px = new byte[(int) (small.total() * 3)];
            rnd.nextBytes(px);
            small.data().put(px);
            Mat img = new Mat();
            opencv_imgproc.resize(small, img, new Size(w, h), 0, 0, opencv_imgproc.INTER_CUBIC);
            byte[] big = new byte[(int) (img.total() * 3)];
            img.data().get(big);
            for (int k = 0; k < big.length; ++k) big[k] = (byte) Math.max(0, Math.min(255, (big[k] & 255) + (int) (rnd.nextGaussian() * 12)));
            img.data().put(big);
            Path f = out.resolve(String.format("c%02d/img%05d.jpg", i % 10, i));
            Files.createDirectories(f.getParent());
            opencv_imgcodecs.imwrite(f.toString(), img, new org.bytedeco.javacpp.IntPointer(opencv_imgcodecs.IMWRITE_JPEG_QUALITY, 90));
        }
    }
}
