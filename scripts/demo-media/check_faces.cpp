// Haar frontal-face check for demo frames: prints "<file> <n_faces> <x,y,w,h>..."
#include <opencv2/objdetect.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <cstdio>
int main(int argc, char** argv) {
  cv::CascadeClassifier c;
  if (!c.load("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml")) { fprintf(stderr, "no cascade\n"); return 2; }
  for (int i = 1; i < argc; i++) {
    cv::Mat img = cv::imread(argv[i]); if (img.empty()) { printf("%s unreadable\n", argv[i]); continue; }
    cv::Mat g; cv::cvtColor(img, g, cv::COLOR_BGR2GRAY); cv::equalizeHist(g, g);
    std::vector<cv::Rect> f; c.detectMultiScale(g, f, 1.1, 3, 0, cv::Size(30, 30));
    printf("%s %zu", argv[i], f.size());
    for (auto& r : f) printf(" %d,%d,%d,%d", r.x, r.y, r.width, r.height);
    printf("\n");
  }
}
