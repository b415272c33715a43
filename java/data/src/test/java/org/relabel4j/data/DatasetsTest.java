package org.relabel4j.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.relabel4j.data.ImageFolderTest.touch;
import static org.relabel4j.data.TarShardsTest.bytes;
import static org.relabel4j.data.TarShardsTest.writeTar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path tmp;

    @Test
    void opensEachKindByPrefixOrShape() throws IOException {
        Path folder = tmp.resolve("train");
        touch(folder, "n01/a.JPEG");
        touch(folder, "n02/b.JPEG");
        Path v2 = tmp.resolve("v2");
        for (int c = 0; c <= 11; c++) touch(v2, c + "/x" + c + ".jpeg");
        Path list = tmp.resolve("val.txt");
        Files.writeString(list, "train/n01/a.JPEG\t1\n");
        Path tsv = tmp.resolve("val.TSV");
        Files.writeString(tsv, "train/n02/b.JPEG\t0\n");
        writeTar(tmp.resolve("s-00.tar"), Map.of("k.jpg", bytes("1"), "k.cls", bytes("0")));
        writeTar(tmp.resolve("s-01.tar"), Map.of("j.jpg", bytes("1"), "j.cls", bytes("1")));

        assertInstanceOf(ImageFolder.class, Datasets.open(folder.toString()));
        assertInstanceOf(ImageFolder.class, Datasets.open("imagefolder:" + folder));
        Dataset v = Datasets.open("imagenetv2:" + v2);
        assertInstanceOf(ImageNetV2.class, v);
        assertEquals(10, v.sample(v.size() - 2).label());  // folder 10 is class 10
        assertInstanceOf(ListFile.class, Datasets.open(list.toString()));
        assertInstanceOf(ListFile.class, Datasets.open(tsv.toString()));
        assertInstanceOf(ListFile.class, Datasets.open("list:" + list));
        assertEquals(2, Datasets.open(tmp + "/s-{00..01}.tar").size());
        assertEquals(1, Datasets.open(tmp + "/s-00.tar").size());
        assertEquals(2, Datasets.open("tar:" + tmp + "/s-{00,01}.tar").size());

        Dataset val = Datasets.open("imagefolder:" + folder, List.of("n02", "n01"));
        assertEquals("n01/a", val.sample(1).key());
        assertEquals(1, val.sample(1).label());
        assertEquals(List.of("z", "w"), Datasets.open(list.toString(), List.of("z", "w")).classes());
    }

    @Test
    void ambiguousOrUnknownSpecsAreRefused() throws IOException {
        Path v2 = tmp.resolve("v2");
        for (int c = 0; c <= 11; c++) touch(v2, c + "/x" + c + ".jpeg");
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(v2.toString()));
        assertTrue(e.getMessage().contains("imagenetv2:"), e.getMessage());
        assertEquals("10", Datasets.open("imagefolder:" + v2).classes().get(2));  // name order, as asked
        Path few = tmp.resolve("few");
        for (int c = 0; c < 10; c++) touch(few, c + "/x.png");
        assertEquals(10, Datasets.open(few.toString()).classes().size());  // 0..9: both orders agree

        assertThrows(DatasetException.class, () -> Datasets.open(tmp.resolve("nothing").toString()));
        Path other = Files.writeString(tmp.resolve("data.bin"), "x");
        assertThrows(DatasetException.class, () -> Datasets.open(other.toString()));
        e = assertThrows(DatasetException.class, () -> Datasets.open(tmp + "/x-{0..3}.tar.gz"));
        assertTrue(e.getMessage().contains("compressed"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Datasets.open(" "));
    }
}
