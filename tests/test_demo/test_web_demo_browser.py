"""demo/web_demo.py in headless Chromium (Debian's, driven by Selenium): load
the page, upload a digit, read the top-1 from the page and check it against
inference_model; upload a non-image and read the message.  The screenshots
are kept in pytest's tmp path."""
import os.path as osp
import shutil
import tempfile

import pytest
from digits_files import DIGITS_CONFIG, digit_files, digits_input_size
from test_web_demo import DemoServer, load_web_demo

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--window-size=900,1100']


@pytest.fixture
def browser():
    if not (osp.exists(CHROMIUM) and osp.exists(CHROMEDRIVER)):
        pytest.skip('needs Chromium and its driver: apt-get install chromium chromium-driver')
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip('needs the selenium package: pip install "mmcls_ms[web]"')
    profile = tempfile.mkdtemp(prefix='chromium-profile-')
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f'--user-data-dir={profile}']:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def upload(driver, url, path):
    from selenium.webdriver.common.by import By
    driver.get(url)
    driver.find_element(By.ID, 'image').send_keys(path)
    driver.find_element(By.ID, 'submit').click()  # a form post: returns with the new page


@pytest.mark.slow  # Chromium's start, a server process and the model: ~1 minute on 2 cores
def test_the_page_in_chromium(browser, digits_checkpoint, tmp_path):
    from selenium.webdriver.common.by import By

    from mmcls_ms.apis import inference_model
    checkpoint, root = digits_checkpoint
    server = DemoServer('--config', DIGITS_CONFIG, '--checkpoint', checkpoint).wait_ready()
    try:
        browser.get(server.url)
        assert browser.title == 'mmcls_ms web demo'
        options = [o.text for o in browser.find_elements(By.CSS_SELECTOR, '#model option')]
        assert options[0].startswith('vgg11bn-gap_1xb32_digits')

        image = digit_files(root, 'val', 1)[5]
        upload(browser, server.url, image)
        top1 = browser.find_element(By.ID, 'top1-class').text
        assert top1 == inference_model(DIGITS_CONFIG, image, pretrained=checkpoint)['pred_class']
        assert top1 == '5'
        assert len(browser.find_elements(By.CSS_SELECTOR, '#topk td.class')) == 5
        cam = browser.find_element(By.ID, 'cam')
        # the Grad-CAM overlay is drawn at the size the model sees
        assert browser.execute_script('return arguments[0].naturalWidth', cam) == \
            digits_input_size()
        browser.save_screenshot(str(tmp_path / 'web_demo_digit.png'))

        not_image = tmp_path / 'notes.txt'
        not_image.write_text('this is no image\n')
        upload(browser, server.url, str(not_image))
        message = browser.find_element(By.ID, 'error').text
        assert message.startswith("Cannot decode image file 'notes.txt'")
        assert 'Upload a JPEG, PNG' in message
        browser.save_screenshot(str(tmp_path / 'web_demo_not_an_image.png'))
        print('screenshots in', tmp_path)
    finally:
        server.stop()


@pytest.mark.slow
def test_bird_with_a_cached_zoo_model_in_chromium(request, tmp_path):
    cached = [name for name, is_cached in load_web_demo().zoo_models() if is_cached]
    if not cached:
        pytest.skip('no zoo model has its weights cached (python demo/image_demo.py '
                    'demo/bird.JPEG NAME fetches them)')
    browser = request.getfixturevalue('browser')  # Chromium starts only when it is needed
    from selenium.webdriver.common.by import By

    from mmcls_ms.apis import inference_model
    bird = osp.join(osp.dirname(DIGITS_CONFIG), '..', '..', 'demo', 'bird.JPEG')
    server = DemoServer('--model', cached[0]).wait_ready()
    try:
        upload(browser, server.url, osp.abspath(bird))
        top1 = browser.find_element(By.ID, 'top1-class').text
        assert top1 == inference_model(cached[0], bird)['pred_class']
        browser.save_screenshot(str(tmp_path / 'web_demo_bird.png'))
    finally:
        server.stop()
